# What R code spells out: the literal values it holds and the literal answers it
# assigns, read with R's own parser. hubtrain's answer-leak scan (rliterals.py)
# runs this once for every R cell of a course.
#
# stdin:  a JSON array of cell sources.
# stdout: a JSON array, one object per cell:
#   {"parsed": true|false,
#    "assigned": [[name, value], ...],  # `x <- 3`, `x = c("a")`, `x <<- 20000 * 8`
#    "literals": [value, ...],          # every literal in the cell, nested ones too
#    "letters":  [answer, ...]}         # the `answer` of each hubcheck$question(...)
# A value is tagged with its shape, so Python reads it without guessing:
#   {"null": true} (NULL or NA), {"num": "3.2e+09"}, {"str": "a"}, {"bool": true},
#   {"set": [...]} (an unnamed vector: order does not matter), {"list": [...]},
#   {"dict": [[name, value], ...]} (a named vector or list).
#
# Nothing in a cell is run: a literal is a constant, c() or list() of literals, or
# arithmetic on numbers (`20000 * 20000 * 8` is the number it makes).

suppressPackageStartupMessages(requireNamespace("jsonlite", quietly = TRUE))

ARITHMETIC <- c("+", "-", "*", "/", "^", "%/%", "%%", "(")

# list(value) for a literal, NULL for anything else (the value itself may be NULL).
literal <- function(e) {
  if (is.null(e)) return(list(NULL))
  if (is.atomic(e) && length(e) == 1) return(list(e))
  if (!is.call(e) || !is.symbol(e[[1]])) return(NULL)
  name <- as.character(e[[1]])
  parts <- as.list(e)[-1]
  if (!name %in% c("c", "list", ARITHMETIC)) return(NULL)
  values <- list()
  for (i in seq_along(parts)) {
    if (identical(parts[[i]], quote(expr = ))) return(NULL)
    got <- literal(parts[[i]])
    if (is.null(got)) return(NULL)
    values[i] <- got
  }
  names(values) <- names(parts)
  if (name == "list") return(list(values))
  if (name == "c") {
    atomic <- vapply(values, function(v) is.null(v) || is.atomic(v), logical(1))
    return(if (all(atomic)) list(do.call(c, values)) else NULL)
  }
  numeric <- vapply(values, function(v) is.numeric(v) && length(v) == 1, logical(1))
  if (!length(values) || !all(numeric) || !is.null(names(values))) return(NULL)
  list(do.call(get(name, envir = baseenv()), unname(values)))
}

tag_scalar <- function(x) {
  if (is.na(x)) return(list(null = TRUE))
  if (is.logical(x)) return(list(bool = x))
  if (is.numeric(x)) return(list(num = sprintf("%.17g", as.double(x))))
  if (is.character(x)) return(list(str = enc2utf8(x)))
  list(str = paste0("<R.", typeof(x), ">"))
}

tag <- function(v) {
  if (is.null(v)) return(list(null = TRUE))
  if (is.factor(v)) v <- stats::setNames(as.character(v), names(v))
  keys <- names(v)
  if (!is.null(keys)) {
    return(list(dict = lapply(seq_along(v), function(i) list(keys[[i]], tag(v[[i]])))))
  }
  if (is.list(v)) return(list(list = lapply(v, tag)))
  if (length(v) == 1) return(tag_scalar(v))
  list(set = lapply(seq_along(v), function(i) tag_scalar(v[[i]])))
}

# Call visit(e) on `e` and on every expression inside it.
walk <- function(e, visit) {
  visit(e)
  if (is.call(e) || is.pairlist(e)) {
    parts <- as.list(e)
    for (i in seq_along(parts)) {
      if (is.call(parts[[i]]) || is.pairlist(parts[[i]]) || is.atomic(parts[[i]])) {
        walk(parts[[i]], visit)
      }
    }
  }
}

QUESTION <- function(task_id, title, prompt, options, answer, why) NULL

scan_cell <- function(code) {
  exprs <- tryCatch(parse(text = code, keep.source = FALSE), error = function(e) NULL)
  if (is.null(exprs)) return(list(parsed = FALSE, assigned = list(), literals = list(), letters = list()))
  assigned <- list()
  literals <- list()
  letters <- list()
  visit <- function(e) {
    got <- literal(e)
    if (!is.null(got)) literals[[length(literals) + 1]] <<- tag(got[[1]])
    if (!is.call(e)) return()
    head <- paste(deparse(e[[1]]), collapse = "")
    if (head %in% c("<-", "=", "<<-") && length(e) == 3 && is.symbol(e[[2]])) {
      value <- literal(e[[3]])
      if (!is.null(value)) {
        assigned[[length(assigned) + 1]] <<- list(as.character(e[[2]]), tag(value[[1]]))
      }
    }
    if (head == "hubcheck$question") {
      call <- tryCatch(match.call(QUESTION, e), error = function(err) NULL)
      answer <- if (is.null(call)) NULL else literal(call$answer)
      if (!is.null(answer) && !is.null(call$answer)) letters[[length(letters) + 1]] <<- tag(answer[[1]])
    }
  }
  for (e in as.list(exprs)) walk(e, visit)
  list(parsed = TRUE, assigned = assigned, literals = literals, letters = letters)
}

cells <- jsonlite::fromJSON(paste(readLines(file("stdin"), encoding = "UTF-8", warn = FALSE), collapse = "\n"),
  simplifyVector = FALSE
)
result <- lapply(cells, scan_cell)
cat(jsonlite::toJSON(result, auto_unbox = TRUE, null = "null", digits = NA), "\n")
