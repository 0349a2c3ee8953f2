# Learner answers as plain data, for R notebooks: the twin of plaindata.py (read
# its docstring for why). This file runs inside kernels, wrapped in local({...}):
# in the learner's kernel to export answers and to answer calls of the learner's
# functions, in the judge's kernel to load them. It needs jsonlite, and IRdisplay
# in the learner's kernel (IRkernel has both).
#
# What travels: any vector (logical, integer, double bit for bit, complex,
# character, raw), list and NULL, with all their attributes (names, class, dim,
# levels, ...), so data frames, factors, matrices, sf and stars objects arrive
# as they were. A function travels as a stand-in that calls it in the learner's
# kernel. Environments, external pointers and S4 objects do not travel: the judge
# gets a placeholder of class "hubtrain_unsendable", which no check accepts.
# Nothing the learner sends is evaluated: the judge only builds vectors and lists.

hubtrain_mime <- "application/vnd.hubtrain.answers+json"
hubtrain_prompt <- "\033hubtrain-call:"
hubtrain_max_depth <- 40L

hubtrain_b64 <- function(text) {
  value <- rawToChar(jsonlite::base64_dec(text))
  Encoding(value) <- "UTF-8"
  value
}

hubtrain_first <- function(value) if (is.list(value)) value[[1]] else value

hubtrain_unsendable <- function(name, kind) {
  why <- paste0(name, " is a ", kind, ", which the grader cannot receive: answers must be ",
                "plain values (vectors, lists, data frames) or functions")
  structure(list(why = why), class = "hubtrain_unsendable")
}

hubtrain_encode <- function(x, name = "the answer", depth = 0L) {
  if (is.function(x)) {
    if (depth == 0L) return(list(f = name))
    return(list(u = "function"))
  }
  if (depth > hubtrain_max_depth) return(list(u = "value nested too deeply"))
  type <- typeof(x)
  plain <- x
  if (type %in% c("logical", "integer", "double", "complex", "character", "raw")) {
    attributes(plain) <- NULL
  }
  out <- switch(type,
    "NULL" = list(t = "NULL"),
    logical = , integer = , character = list(t = type, v = plain),
    double = list(t = type, v = sprintf("%a", plain)),
    complex = list(t = type, v = sprintf("%a", Re(plain)), i = sprintf("%a", Im(plain))),
    raw = list(t = type, v = jsonlite::base64_enc(plain)),
    list = list(t = type, v = lapply(unname(unclass(plain)), hubtrain_encode, name, depth + 1L)),
    list(u = class(x)[1])
  )
  if (is.null(out$u) && !is.null(attributes(x))) {
    out$a <- lapply(attributes(x), hubtrain_encode, name, depth + 1L)
  }
  out
}

hubtrain_vector <- function(type, values) {
  empty <- switch(type, logical = NA, integer = NA_integer_, character = NA_character_)
  filled <- lapply(values, function(v) if (is.null(v)) empty else v)
  vapply(filled, function(v) v, switch(type, logical = NA, integer = 0L, character = ""))
}

hubtrain_doubles <- function(values) {
  text <- vapply(values, function(v) as.character(v), "")
  suppressWarnings(as.numeric(text))
}

hubtrain_decode <- function(data, name = "the answer", call = NULL) {
  if (!is.null(data$f)) {
    if (is.null(call)) return(hubtrain_unsendable(name, "function"))
    function_name <- hubtrain_first(data$f)
    return(function(...) call(function_name, list(...)))
  }
  if (!is.null(data$u)) return(hubtrain_unsendable(name, hubtrain_first(data$u)))
  type <- hubtrain_first(data$t)
  value <- switch(type,
    "NULL" = NULL,
    logical = , integer = , character = hubtrain_vector(type, data$v),
    double = hubtrain_doubles(data$v),
    complex = complex(real = hubtrain_doubles(data$v), imaginary = hubtrain_doubles(data$i)),
    raw = jsonlite::base64_dec(hubtrain_first(data$v)),
    list = lapply(data$v, hubtrain_decode, name, call),
    stop("unknown type ", type)
  )
  if (!is.null(data$a) && !is.null(value)) {
    attributes(value) <- lapply(data$a, hubtrain_decode, name, NULL)
  }
  value
}

hubtrain_json <- function(payload) {
  as.character(jsonlite::toJSON(payload, na = "null", null = "null", digits = NA))
}

# --- in the learner's kernel ---------------------------------------------------

hubtrain_publish <- function(payload) {
  IRdisplay::publish_mimebundle(stats::setNames(list(hubtrain_json(payload)), hubtrain_mime))
}

hubtrain_export <- function(names_json) {
  answers <- structure(list(), names = character(0))
  for (name in unlist(jsonlite::fromJSON(names_json))) {
    if (exists(name, envir = globalenv(), inherits = FALSE)) {
      answers[[name]] <- hubtrain_encode(get(name, envir = globalenv()), name)
    }
  }
  hubtrain_publish(list(answers = answers))
}

hubtrain_answer_call <- function(request) {
  asked <- jsonlite::fromJSON(request, simplifyVector = FALSE)
  function_name <- hubtrain_first(asked$name)
  result <- tryCatch(
    {
      args <- hubtrain_decode(asked$args)
      value <- do.call(get(function_name, envir = globalenv()), args)
      list(value = hubtrain_encode(value, paste0("the result of ", function_name, "()")))
    },
    error = function(e) list(error = c(class(e)[1], conditionMessage(e)))
  )
  hubtrain_publish(result)
}

# --- in the judge's kernel -----------------------------------------------------

hubtrain_call <- function(function_name, args) {
  request <- hubtrain_json(list(name = function_name, args = hubtrain_encode(args, depth = 1L)))
  reply <- jsonlite::fromJSON(readline(paste0(hubtrain_prompt, request)), simplifyVector = FALSE)
  if (!is.null(reply$error)) stop(unlist(reply$error)[2], call. = FALSE)
  hubtrain_decode(reply$value, paste0("the result of ", function_name, "()"), hubtrain_call)
}

hubtrain_load <- function(snapshot, names_json) {
  answers <- jsonlite::fromJSON(snapshot, simplifyVector = FALSE)
  for (name in unlist(jsonlite::fromJSON(names_json))) {
    if (is.null(answers[[name]])) {
      if (exists(name, envir = globalenv(), inherits = FALSE)) rm(list = name, envir = globalenv())
      next
    }
    value <- tryCatch(
      hubtrain_decode(answers[[name]], name, hubtrain_call),
      error = function(e) hubtrain_unsendable(name, "value that could not be rebuilt")
    )
    assign(name, value, envir = globalenv())
  }
}
