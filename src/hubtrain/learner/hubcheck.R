# Checks for hubtrain's R exercises: plain-sentence feedback instead of tracebacks.
#
# The R twin of hubcheck.py. It ships inside the student release next to each R
# notebook (the learner's hub does not have hubtrain), needs only base R,
# jsonlite and digest (both are IRkernel's own dependencies, so every hub with an
# R kernel has them), and records results in the SAME progress file as hubcheck.py
# (~/hubtrain-progress.json, or $HUBTRAIN_PROGRESS), so progress.ipynb and the
# TA's room view count Python and R work alike.
#
#   source("hubcheck.R")   # defines one object, `hubcheck`
#   hubcheck$task("id", "Title", { hubcheck$expect(ok, "message", "hint") })
#   hubcheck$self_check("id", "Title", function() ...)
#   hubcheck$question("id", "Title", "prompt", c(a = "...", b = "..."), "b", c(a = "why", ...))
#   hubcheck$digest(value)  # the same fingerprint as hubcheck.py's digest(): see below
#
# nbgrader zeroes a graded cell that writes anything to stderr, and IRkernel
# sends every message() and warning() there (package start-up messages too). So a
# passing check never writes to stderr: `task()` turns messages and warnings
# raised inside it into plain output, and this file loads jsonlite quietly.

hubcheck <- local({
  GRADING_FLAG <- "HUBTRAIN_GRADING"
  PROGRESS_ENV <- "HUBTRAIN_PROGRESS"
  OFF_HUB_HINT <- "Open this notebook on your hub with the course link, then run it again."
  # The module is the folder the notebook (and this file) sit in, as in hubcheck.py.
  here <- getwd()
  session <- list()
  questions <- list()
  facts <- NULL

  suppressPackageStartupMessages(requireNamespace("jsonlite", quietly = TRUE))

  # `text` with the learner's home directory written "~", as the book writes it (as
  # hubcheck.py's `shown_path`): a message names a file the way the learner knows it,
  # not by where this server keeps homes (on the practice hub, a folder under the hub's
  # state directory, /tmp/.../homes/ana, which no real hub has).
  shown_path <- function(text) {
    homes <- c(Sys.getenv("HOME"), path.expand("~"))
    homes <- c(homes, normalizePath(homes[nzchar(homes)], mustWork = FALSE))
    homes <- unique(sub("/+$", "", homes))
    homes <- homes[nchar(homes) > 1]
    for (home in homes[order(-nchar(homes))]) {
      pattern <- paste0("\\Q", home, "\\E(?![\\w-]|\\.[\\w.-])") # the home, literally, as a whole path part
      text <- gsub(pattern, "~", text, perl = TRUE)
    }
    text
  }

  failure <- function(message, hint = "") {
    message <- shown_path(message)
    hint <- shown_path(hint)
    text <- paste0("\u2717 ", message, if (nzchar(hint)) paste0("\n  Hint: ", hint) else "")
    structure(
      class = c("hubcheck_failed", "error", "condition"),
      list(message = text, call = NULL, plain = message, hint = hint)
    )
  }

  grading <- function() identical(Sys.getenv(GRADING_FLAG), "1")

  need_env <- function(name, allow_empty = FALSE) {
    value <- Sys.getenv(name, unset = NA)
    if (is.na(value) || (!nzchar(value) && !allow_empty)) {
      throw(failure(paste0("this check must run on your hub: ", name, " is not set."), OFF_HUB_HINT))
    }
    value
  }

  # This server's MEM_LIMIT (bytes) or CPU_LIMIT (cores) as a number, Inf when unset
  # (as hubcheck.py's `limit`): JupyterHub writes them only when a limit is set, so
  # on a hub without one their absence is the answer, "no limit". JUPYTERHUB_USER,
  # which every server has, tells whether this is a hub at all.
  limit <- function(name) {
    need_env("JUPYTERHUB_USER")
    value <- Sys.getenv(name)
    if (nzchar(value)) as.numeric(value) else Inf
  }

  # A limit from `limit()` in words, for a check's message (as hubcheck.py's
  # `limit_text`): unit "bytes", "GiB" or "" (the plain number).
  limit_text <- function(value, unit = "") {
    if (is.infinite(value)) return("not set, so there is no limit")
    switch(unit,
      bytes = sprintf("%.0f bytes", value),
      GiB = sprintf("%g GiB", value / 2^30),
      sprintf("%g", value)
    )
  }

  hub_facts <- function() {
    if (is.null(facts)) {
      path <- file.path(here, "hub.json")
      loaded <- tryCatch(jsonlite::fromJSON(path, simplifyVector = FALSE), error = function(e) NULL)
      if (is.null(loaded)) {
        throw(failure(
          "hub.json is missing or damaged next to this notebook.",
          "Click the course link again: nbgitpuller restores files you deleted."
        ))
      }
      facts <<- loaded
    }
    facts
  }

  expect <- function(condition, message, hint = "") {
    # Evaluated here, so a learner's missing variable is reported as such.
    value <- condition
    ok <- is.logical(value) && length(value) == 1 && !is.na(value) && value
    if (!ok) throw(failure(message, hint))
    invisible(TRUE)
  }

  # --- digests: compare an answer without showing it -------------------------
  #
  # digest(value) is the fingerprint hubcheck.py's digest() gives the same answer,
  # so an author computes each digest once, in Python or R, for both twins. It is
  # sha256 (first 16 hex digits) of the JSON text Python's
  # json.dumps(value, sort_keys=True) writes, with R values read as Python ones:
  #
  #   R value                                    Python value it digests like
  #   NULL, NA of any type                       None
  #   TRUE / FALSE (length 1)                    True / False
  #   a whole number, double or integer (4, 4L)  int 4 (as 4.0 is in Python)
  #   any other double (0.5, Inf, NaN)           float (same repr: 0.5, inf, nan)
  #   a string (length 1)                        str
  #   a factor                                   its labels, as strings
  #   an unnamed vector of length 0 or >= 2,     list, in the same order (a Python
  #     or an unnamed list                       set is a list sorted by repr: for
  #                                              words, sort(x, method = "radix"))
  #   a named vector or named list               dict (names are keys, any order)
  #   anything else (a function, an environment) "<R.type>": matches no answer
  #
  # So a number digests alike however it was computed (20000 * 20000 * 8,
  # 20000^2 * 8, prod(c(20000, 20000)) * 8, as.numeric("3200000000"), an integer
  # from length() or sum()): where == says two numbers are equal, so does the
  # digest, as hubcheck.py does for NumPy's scalars. One deliberate exception, the
  # same in both runtimes: TRUE is not 1 here, although TRUE == 1 in R (and
  # True == 1 in Python). A yes/no answer where a count is asked for is a different
  # kind of answer, and the check should say so rather than pass it.
  #
  # A length-1 vector is a scalar (R has no other kind): a one-element Python
  # list is list("x") here. Not in Python: duplicate names (kept, in name order)
  # and complex or raw vectors (digested as "<R.type>"). The digest is computed on
  # the data, not with the value's own methods, so an object cannot pass by
  # claiming to equal the answer. sha256 comes from the `digest` package, which
  # IRkernel itself needs, so every R hub with IRkernel has it.
  json_string <- function(text) {
    codes <- utf8ToInt(enc2utf8(text))
    if (!length(codes)) return('""')
    short <- c("34" = '\\"', "92" = "\\\\", "10" = "\\n", "13" = "\\r", "9" = "\\t", "8" = "\\b", "12" = "\\f")
    pieces <- vapply(codes, function(code) {
      key <- as.character(code)
      if (!is.na(short[key])) return(short[[key]])
      if (code >= 32 && code <= 126) return(intToUtf8(code))
      if (code <= 0xFFFF) return(sprintf("\\u%04x", code))
      code <- code - 0x10000 # outside the BMP: a surrogate pair, as Python writes it
      sprintf("\\u%04x\\u%04x", 0xD800 + code %/% 1024, 0xDC00 + code %% 1024)
    }, "")
    paste0('"', paste(pieces, collapse = ""), '"')
  }

  # Python's repr() of a float that is not a whole number: the shortest digits that
  # read back as the same double, in fixed notation for exponents -4 to 15.
  json_double <- function(x) {
    if (is.nan(x)) return("NaN")
    if (is.infinite(x)) return(if (x > 0) "Infinity" else "-Infinity")
    if (x == trunc(x)) return(if (x == 0) "0" else sprintf("%.0f", x))
    for (places in 0:16) {
      text <- sprintf(paste0("%.", places, "e"), x)
      if (as.numeric(text) == x) break
    }
    parts <- regmatches(text, regexec("^(-?)([0-9])\\.?([0-9]*)e([-+][0-9]+)$", text))[[1]]
    digits <- sub("0+$", "", paste0(parts[3], parts[4]))
    if (!nzchar(digits)) digits <- "0"
    exponent <- as.integer(parts[5])
    if (exponent < -4 || exponent >= 16) {
      rest <- substring(digits, 2)
      mantissa <- if (nzchar(rest)) paste0(substr(digits, 1, 1), ".", rest) else substr(digits, 1, 1)
      return(sprintf("%s%se%s%02d", parts[2], mantissa, if (exponent < 0) "-" else "+", abs(exponent)))
    }
    if (exponent < 0) {
      return(paste0(parts[2], "0.", strrep("0", -exponent - 1), digits))
    }
    whole <- substr(paste0(digits, strrep("0", exponent + 1)), 1, exponent + 1)
    fraction <- substring(digits, exponent + 2)
    paste0(parts[2], whole, ".", if (nzchar(fraction)) fraction else "0")
  }

  json_scalar <- function(x) {
    if (is.na(x) && !(is.double(x) && is.nan(x))) return("null")
    switch(typeof(x),
      logical = if (x) "true" else "false",
      integer = as.character(x),
      double = json_double(x),
      character = json_string(x),
      json_string(paste0("<R.", typeof(x), ">"))
    )
  }

  json_text <- function(value) {
    if (is.null(value)) return("null")
    if (is.factor(value)) value <- stats::setNames(as.character(value), names(value))
    if (!is.atomic(value) && !is.list(value)) return(json_string(paste0("<R.", typeof(value), ">")))
    if (!typeof(value) %in% c("logical", "integer", "double", "character", "list")) {
      return(json_string(paste0("<R.", typeof(value), ">")))
    }
    keys <- names(value)
    value <- unclass(value) # the data, whatever methods its class has
    items <- lapply(seq_along(value), function(i) value[[i]])
    if (!is.null(keys)) {
      keys[is.na(keys)] <- "NA"
      ordered <- order(keys, method = "radix") # code-point order, as Python sorts str
      pairs <- vapply(ordered, function(i) paste0(json_string(keys[[i]]), ": ", json_text(items[[i]])), "")
      return(paste0("{", paste(pairs, collapse = ", "), "}"))
    }
    if (is.atomic(value) && length(value) == 1) return(json_scalar(value))
    paste0("[", paste(vapply(items, json_text, ""), collapse = ", "), "]")
  }

  digest <- function(value) {
    substr(digest::digest(json_text(value), algo = "sha256", serialize = FALSE), 1, 16)
  }

  # nbgrader's default stub for R solution cells calls fail(); say it plainly.
  fail <- function(message = "No Answer") {
    throw(failure(
      "this task has not been answered yet.",
      "Replace the fail() line in the cell above with your answer, and run it."
    ))
  }

  # Not hidden, as in hubcheck.py: the TA's room view reads it through Jupyter
  # Server's contents API, which refuses hidden paths. The old place is read only
  # while the new file does not exist yet.
  progress_path <- function() {
    custom <- Sys.getenv(PROGRESS_ENV)
    if (nzchar(custom)) custom else file.path(path.expand("~"), "hubtrain-progress.json")
  }

  read_progress <- function() {
    paths <- progress_path()
    if (!nzchar(Sys.getenv(PROGRESS_ENV))) {
      paths <- c(paths, file.path(path.expand("~"), ".hubtrain", "progress.json"))
    }
    for (path in paths) {
      if (!file.exists(path)) next
      data <- tryCatch(
        jsonlite::fromJSON(path, simplifyVector = FALSE),
        error = function(e) NULL, warning = function(w) NULL
      )
      return(if (is.list(data) && (length(data) == 0 || !is.null(names(data)))) data else list())
    }
    list()
  }

  # One result, with what the room view shows as well (as in hubcheck.py): how many
  # times the check ran, the failure's one sentence, and seconds since 1970 (UTC).
  record <- function(task_id, title, passed, message = "") {
    entry <- list(
      title = title, passed = passed, at = format(Sys.time(), "%Y-%m-%dT%H:%M:%S"),
      time = as.integer(floor(as.numeric(Sys.time()))),
      message = substr(gsub("\\s+", " ", trimws(message)), 1, 200)
    )
    if (grading()) {
      session[[task_id]] <<- entry
      return(invisible()) # grading leaves no trace in the grader's home
    }
    path <- progress_path()
    data <- read_progress()
    module <- basename(here)
    if (!is.list(data[[module]])) data[[module]] <- setNames(list(), character(0))
    before <- data[[module]][[task_id]]
    tries <- if (is.list(before)) (if (is.numeric(before$tries)) before$tries else 1) else 0
    entry$tries <- as.integer(tries + 1)
    session[[task_id]] <<- entry
    data[[module]][[task_id]] <- entry
    try(silent = TRUE, {
      dir.create(dirname(path), recursive = TRUE, showWarnings = FALSE)
      tmp <- sub("\\.json$", ".tmp", path)
      writeLines(jsonlite::toJSON(data, auto_unbox = TRUE, pretty = TRUE), tmp, useBytes = TRUE)
      file.rename(tmp, path)
    })
    invisible()
  }

  plain <- function(err) {
    if (inherits(err, "hubcheck_failed")) return(err)
    text <- conditionMessage(err)
    missing <- regmatches(text, regexec("object '([^']+)' not found", text))[[1]]
    if (length(missing) == 2) {
      return(failure(
        paste0("`", missing[2], "` is not defined yet."),
        "Write your answer in the cell above and run it (Shift+Enter) before this check."
      ))
    }
    failure(
      paste0("the check stopped with an error: ", trimws(text), "."),
      "Run the notebook from the top (Run > Run All Cells); fix the first cell that fails."
    )
  }

  # IRkernel shows an R error as "Error: <message>", then "Traceback:" and the source
  # of every call on the stack: for a check, the whole body of its task(). A learner
  # reads that as a crash. So a failure is shown as hubcheck.py shows CheckFailed:
  # one output of type "error" (ename "CheckFailed") whose lines are the sentence and
  # the hint, and nothing else. The execute reply says "error" too, so nbgrader scores
  # the cell 0 and Run All stops there, exactly as for a Python check.
  #
  # IRkernel has no public call for this, so we use its executor: the object whose
  # `execute` method runs this cell, found among the calling frames by its fields
  # `send_response`, `current_request` and `err` (IRkernel 1.x). Its `err` is what
  # makes the reply an error; `send_response` sends an output. Outside IRkernel
  # (Rscript, RStudio, another kernel) a failure is an ordinary R error.
  depth <- 0 # how many task()/run_live() bodies are running: they catch failures
  irkernel_executor <- function() {
    for (i in rev(seq_len(sys.nframe()))) {
      env <- environment(sys.function(i))
      if (is.environment(env) && all(vapply(
        c("send_response", "current_request", "err"), exists, logical(1),
        envir = env, inherits = FALSE
      ))) {
        return(env)
      }
    }
    NULL
  }

  box <- function(outcome) {
    list(
      ename = "CheckFailed",
      evalue = if (nzchar(outcome$hint)) paste(outcome$plain, "Hint:", outcome$hint) else outcome$plain,
      traceback = as.list(strsplit(outcome$message, "\n", fixed = TRUE)[[1]])
    )
  }

  # A failed task: the box, and the cell counts as failed; the cell's code goes on
  # (a check cell has nothing after its task()).
  raise <- function(outcome) {
    executor <- irkernel_executor()
    if (is.null(executor)) stop(outcome)
    executor$err <- box(outcome)
    silent <- tryCatch(isTRUE(executor$is_silent()), error = function(e) FALSE)
    if (!silent) executor$send_response("error", executor$current_request, "iopub", box(outcome))
    invisible(FALSE)
  }

  # A failure anywhere else (need_env() in a setup cell, fail() in an unanswered
  # cell) must also stop the cell's code, so it is a real R error; IRkernel's one
  # error output for it is swapped for the box, once, in this cell only. Inside a
  # task() or a live check the failure is caught there and shown by it instead.
  throw <- function(outcome) {
    executor <- if (depth == 0) irkernel_executor()
    if (!is.null(executor)) {
      send <- executor$send_response
      request <- executor$current_request
      executor$send_response <- function(msg_type, parent, socket, content) {
        if (identical(msg_type, "error")) {
          executor$send_response <- send
          if (identical(parent, request)) {
            content <- box(outcome)
            executor$err <- content
          }
        }
        send(msg_type, parent, socket, content)
      }
    }
    stop(outcome)
  }

  # Messages and warnings become plain output: a passing check writes nothing to stderr.
  # They are shown after the check passes; when it fails they are dropped, because the
  # failure's sentence and hint must be all the learner sees (httr's "No encoding
  # supplied" above the box would only distract).
  quietly <- function(expr) {
    notes <- character()
    result <- withCallingHandlers(
      expr,
      message = function(m) {
        notes <<- c(notes, conditionMessage(m))
        invokeRestart("muffleMessage")
      },
      warning = function(w) {
        notes <<- c(notes, paste("Note:", conditionMessage(w), "\n"))
        invokeRestart("muffleWarning")
      }
    )
    cat(notes, sep = "")
    invisible(result)
  }

  task <- function(task_id, title, body) {
    depth <<- depth + 1
    on.exit(depth <<- depth - 1)
    outcome <- tryCatch(
      {
        quietly(body)
        NULL
      },
      error = function(e) plain(e)
    )
    if (!is.null(outcome)) {
      record(task_id, title, FALSE, outcome$plain)
      return(raise(outcome))
    }
    record(task_id, title, TRUE)
    cat("\u2713 ", title, ": passed.\n", sep = "")
    invisible(TRUE)
  }

  run_live <- function(task_id, title, check) {
    depth <<- depth + 1
    on.exit(depth <<- depth - 1)
    outcome <- tryCatch(
      {
        quietly(check())
        NULL
      },
      error = function(e) plain(e)
    )
    if (!is.null(outcome)) {
      record(task_id, title, FALSE, outcome$plain)
      return(conditionMessage(outcome))
    }
    record(task_id, title, TRUE)
    paste0("\u2713 ", title, ": passed (checked live on your hub).")
  }

  self_check <- function(task_id, title, check) {
    if (grading()) {
      cat("\u2013 ", title, ": self-checked live on your hub; not graded.\n", sep = "")
      return(invisible())
    }
    cat(run_live(task_id, title, check), "\n(Run this cell again to check again.)\n", sep = "")
    invisible()
  }

  question <- function(task_id, title, prompt, options, answer, why) {
    questions[[task_id]] <<- list(title = title, options = options, answer = answer, why = why)
    lines <- c(
      prompt,
      paste0("  ", names(options), ") ", options),
      paste0('Answer in a code cell: hubcheck$answer("', task_id, '", "a")  (with your letter)')
    )
    cat(lines, sep = "\n")
    invisible()
  }

  answer <- function(task_id, choice) {
    spec <- questions[[task_id]]
    if (is.null(spec)) {
      cat("\u2717 There is no question '", task_id, "' yet.\n  Hint: run the cell that asks it first.\n", sep = "")
      return(invisible())
    }
    choice <- sub("\\)$", "", tolower(trimws(as.character(choice))))
    if (!nzchar(choice)) {
      cat("\u2013 Put your letter between the quotes, then run this cell again.\n")
      return(invisible())
    }
    if (!choice %in% names(spec$options)) {
      cat("\u2717 '", choice, "' is not one of the letters ", paste(names(spec$options), collapse = ", "), ".\n", sep = "")
      return(invisible())
    }
    # `answer` is the letter, or (so the notebook does not show it) digest(list(task_id, letter)).
    passed <- identical(choice, spec$answer) || identical(digest(list(task_id, choice)), spec$answer)
    record(task_id, spec$title, passed, if (passed) "" else paste("answered", choice))
    # `why` may explain only some letters (as in hubcheck.py).
    reason <- if (choice %in% names(spec$why)) spec$why[[choice]] else ""
    cat(trimws(paste(if (passed) "\u2713 Right." else "\u2717 Not quite.", reason)), "\n", sep = "")
    invisible()
  }

  # A memory size in bytes, read the way JupyterHub reads mem_limit (K, M, G, T are
  # powers of 1024). A double, not an integer: R's integers stop at 2^31 - 1 bytes.
  mem_bytes <- function(value) {
    if (is.numeric(value)) return(as.numeric(value))
    text <- trimws(as.character(value))
    units <- c(K = 1024, M = 1024^2, G = 1024^3, T = 1024^4)
    last <- substring(text, nchar(text))
    if (last %in% names(units)) {
      return(as.numeric(substring(text, 1, nchar(text) - 1)) * units[[last]])
    }
    as.numeric(text)
  }

  # Apply one kubespawner_override as KubeSpawner does: a null (NULL here) removes
  # the setting ("no limit"), anything else replaces it (as hubcheck.py's `_apply`).
  apply_override <- function(merged, override) {
    for (key in names(override)) merged[key] <- list(override[[key]])
    Filter(Negate(is.null), merged)
  }

  # The hub's profiles with a memory limit (default choices), smallest first, as a
  # data frame with slug, name, mem_limit (bytes) and cpu_limit (NA if none). The
  # hub-wide defaults apply first, then each profile's overrides (as hubcheck.py).
  profile_limits <- function() {
    facts <- hub_facts()
    rows <- list()
    for (profile in facts$profile_list) {
      merged <- apply_override(list(), facts$defaults)
      merged <- apply_override(merged, profile$kubespawner_override)
      for (option in profile$profile_options) {
        choices <- option$choices
        defaults <- vapply(choices, function(c) isTRUE(c$default), logical(1))
        chosen <- if (any(defaults)) choices[[which(defaults)[1]]] else if (length(choices)) choices[[1]]
        # An option with only a free-text entry has no default: the learner types a value.
        if (is.null(chosen) && isTRUE(option$unlisted_choice$enabled)) chosen <- option$unlisted_choice
        merged <- apply_override(merged, chosen$kubespawner_override)
      }
      # No limit, or one the learner types on the options page ("{value}G").
      if (is.null(merged$mem_limit) || grepl("{value}", merged$mem_limit, fixed = TRUE)) next
      rows[[length(rows) + 1]] <- data.frame(
        slug = profile$slug, name = profile$display_name, mem_limit = mem_bytes(merged$mem_limit),
        cpu_limit = if (is.null(merged$cpu_limit)) NA_real_ else as.numeric(merged$cpu_limit)
      )
    }
    if (!length(rows)) {
      return(data.frame(slug = character(), name = character(), mem_limit = numeric(), cpu_limit = numeric()))
    }
    table <- do.call(rbind, rows)
    table <- table[order(table$mem_limit), , drop = FALSE]
    rownames(table) <- NULL
    table
  }

  # The slug of the profile `name` names, by its slug or by its name as the options page
  # and the book show it ("Medium", "Medium (default)"), whatever the case; NULL when it
  # names none; "" names what every server gets on a hub without a profile list (as
  # hubcheck.py's `profile_slug`).
  profile_slug <- function(name) {
    if (!is.character(name) || length(name) != 1 || is.na(name)) return(NULL)
    wanted <- tolower(trimws(sub(" \\(default\\)\\s*$", "", trimws(name))))
    profiles <- hub_facts()$profile_list
    for (profile in profiles) {
      if (wanted %in% tolower(c(profile$slug, profile$display_name %||% ""))) return(profile$slug)
    }
    if (!length(profiles) && !nzchar(wanted)) "" else NULL
  }

  # (kind, id, title) of every check in this folder's notebooks (an R assignment's), in order.
  tasks_of <- function() {
    pattern <- '\\b(task|self_check|question)\\(\\s*"([a-z0-9_]+)",\\s*"([^"]+)"'
    found <- list()
    for (notebook in sort(Sys.glob(file.path(here, "*.ipynb")))) {
      cells <- tryCatch(jsonlite::fromJSON(notebook, simplifyVector = FALSE)$cells, error = function(e) list())
      for (cell in cells) {
        if (!identical(cell$cell_type, "code")) next
        text <- paste(unlist(cell$source), collapse = "")
        for (hit in regmatches(text, gregexpr(pattern, text, perl = TRUE))[[1]]) {
          parts <- regmatches(hit, regexec(pattern, hit, perl = TRUE))[[1]]
          found[[length(found) + 1]] <- parts[2:4]
        }
      }
    }
    found
  }

  # Print this module's R progress: a tick for passed, a cross for not yet, a dash for not tried.
  summary <- function() {
    module <- basename(here)
    results <- utils::modifyList(read_progress()[[module]] %||% list(), session)
    kinds <- c(task = "graded", self_check = "self-checked", question = "question")
    tasks <- tasks_of()
    lines <- vapply(tasks, function(t) {
      entry <- results[[t[2]]]
      mark <- if (is.null(entry)) "\u2013" else if (isTRUE(entry$passed)) "\u2713" else "\u2717"
      paste0("  ", mark, " ", t[3], " (", kinds[[t[1]]], ")")
    }, character(1))
    done <- sum(vapply(tasks, function(t) isTRUE(results[[t[2]]]$passed), logical(1)))
    # The R assignment `01-login-r` shows as "01-login (R)", as on the course's progress page.
    cat(paste0(sub("-r$", "", module), " (R): ", done, " of ", length(tasks), " done"), lines,
      "\u2713 passed   \u2717 not yet passed   \u2013 not tried yet",
      sep = "\n"
    )
    invisible()
  }

  `%||%` <- function(a, b) if (is.null(a)) b else a

  environment()
})

# nbgrader's stub for an unanswered R cell calls fail(): make it say so plainly.
fail <- hubcheck$fail
