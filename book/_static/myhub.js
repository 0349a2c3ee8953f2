/*
 * hubtrain "my hub": point every exercise link of the book at the learner's own hub.
 *
 * The built HTML already links to the hub the book was built for, so with
 * JavaScript off everything works for that hub. With JavaScript on, a learner
 * types their hub's address once (or opens the book with ?hub=ADDRESS); it is kept
 * in localStorage and every a.hubtrain-launch link on every page is rebuilt for it
 * from its data-hubtrain-path and the build's link recipe (window.HUBTRAIN,
 * written by hubtrain.course.sphinx_ext). The link maker page (#hubtrain-link-maker)
 * uses the same link builder. A book whose course repository only its own hub
 * can reach (the practice hub's, on 127.0.0.1) says so next to the box.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "hubtrain.hub";

  /* Python's urllib.parse.quote(text, safe): encodeURIComponent leaves !'()* alone,
     Python does not; characters in `safe` stay as they are. */
  function quote(text, safe) {
    var out = encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
    for (var i = 0; i < safe.length; i++) {
      var encoded = "%" + safe.charCodeAt(i).toString(16).toUpperCase();
      out = out.split(encoded).join(safe.charAt(i));
    }
    return out;
  }

  /* JupyterHub 6's rule for new named servers, as hubtrain.course.links.valid_server_name. */
  function validServerName(name) {
    return name.length <= 30 && /^[a-z](?:-?[a-z0-9])*$/.test(name);
  }

  function stripSlashes(text) {
    return text.replace(/^\/+/, "").replace(/\/+$/, "");
  }

  /* The same link as hubtrain.course.links.nbgitpuller_link (Python), character for
     character; tests compare the two. Throws Error on input Python refuses. */
  function nbgitpullerLink(hubUrl, repo, path, options) {
    var opts = options || {};
    var branch = opts.branch || "";
    var app = opts.app === undefined ? "lab" : opts.app;
    var targetDir = opts.target_dir || "";
    var serverName = opts.server_name || "";
    var userName = opts.user_name || "";
    path = path || "";
    if (app !== "lab" && app !== "tree") {
      throw new Error("app must be 'lab' or 'tree', not '" + app + "'");
    }
    if (repo.indexOf("token=") !== -1) {
      throw new Error("never put a token in an nbgitpuller link");
    }
    var directory = stripSlashes(targetDir) || repo.replace(/\/+$/, "").split("/").pop();
    var filePath = [directory, stripSlashes(path)].filter(Boolean).join("/");
    var urlpath = app === "lab" ? "lab/tree/" + filePath : "tree/" + filePath;
    var params = [["repo", repo]];
    if (branch) {
      params.push(["branch", branch]);
    }
    if (targetDir) {
      params.push(["targetPath", directory]);
    }
    params.push(["urlpath", urlpath]);
    var query = params
      .map(function (p) {
        return quote(p[0], "/") + "=" + quote(p[1], "/");
      })
      .join("&");
    var hub = hubUrl.replace(/\/+$/, "");
    if (!serverName) {
      return hub + "/hub/user-redirect/git-pull?" + query;
    }
    /* A named server: its own spawn page, then on to the pull (see the Python). */
    if (!validServerName(serverName)) {
      throw new Error(
        "server name '" +
          serverName +
          "' is not one JupyterHub accepts: 1-30 lowercase letters, digits and single" +
          " hyphens, starting with a letter"
      );
    }
    if (!userName) {
      throw new Error("a link to a named server must name its user (the learner's username)");
    }
    var user = quote(userName, "@~");
    var base = new URL(hub).pathname.replace(/\/+$/, "");
    var pull = base + "/user/" + user + "/" + serverName + "/git-pull?" + query;
    return hub + "/hub/spawn/" + user + "/" + serverName + "?next=" + quote(pull, "/");
  }

  /* A hub address as people paste it -> "https://host[/base]", or null.
     Accepts a bare host name, and cuts a pasted page address back to the hub's
     base (".../hub/home", ".../user/ada/lab", "?query", "#fragment"). */
  function normalizeHub(text) {
    var value = (text || "").trim();
    if (!value) {
      return null;
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      value = "https://" + value;
    }
    var url;
    try {
      url = new URL(value);
    } catch (e) {
      return null;
    }
    if ((url.protocol !== "https:" && url.protocol !== "http:") || !url.hostname) {
      return null;
    }
    if (url.hostname.indexOf(".") === -1 && url.hostname !== "localhost") {
      return null;
    }
    var path = url.pathname.replace(/\/(hub|user)(\/.*)?$/, "").replace(/\/+$/, "");
    return url.protocol + "//" + url.host + path;
  }

  /* True for a repository address that only the machine serving it can reach
     (127.0.0.0/8, localhost, [::1]): nbgitpuller runs in the learner's server, so
     on another hub it asks that server itself, where no course is served. */
  function loopbackOnly(address) {
    var url;
    try {
      url = new URL(address);
    } catch (e) {
      return false;
    }
    var host = url.hostname;
    return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
  }

  function recipe() {
    return window.HUBTRAIN || null;
  }

  function storedHub() {
    try {
      return normalizeHub(window.localStorage.getItem(STORAGE_KEY));
    } catch (e) {
      return null; // storage blocked: use the build's hub
    }
  }

  function storeHub(hub) {
    try {
      if (hub) {
        window.localStorage.setItem(STORAGE_KEY, hub);
      } else {
        window.localStorage.removeItem(STORAGE_KEY);
      }
    } catch (e) {
      /* storage blocked: the choice lasts for this page only */
    }
  }

  var sessionHub = null;

  function currentHub() {
    return sessionHub || storedHub();
  }

  /* Rebuild every launch link for `hub`, or restore the built links for null. */
  function applyHub(hub) {
    var r = recipe();
    var links = document.querySelectorAll("a.hubtrain-launch");
    Array.prototype.forEach.call(links, function (a) {
      if (a.dataset.hubtrainBuiltHref === undefined) {
        a.dataset.hubtrainBuiltHref = a.getAttribute("href");
      }
      var name = a.querySelector(".hubtrain-hub-name");
      if (name && a.dataset.hubtrainBuiltName === undefined) {
        a.dataset.hubtrainBuiltName = name.textContent;
      }
      if (!hub || !r || a.dataset.hubtrainPath === undefined) {
        a.setAttribute("href", a.dataset.hubtrainBuiltHref);
        if (name) {
          name.textContent = a.dataset.hubtrainBuiltName;
        }
        return;
      }
      a.setAttribute(
        "href",
        nbgitpullerLink(hub, r.repo, a.dataset.hubtrainPath, {
          branch: r.branch,
          app: r.app,
          target_dir: r.target_dir,
        })
      );
      if (name) {
        name.textContent = "your hub (" + new URL(hub).host + ")";
      }
    });
    showStatus(hub);
  }

  function element(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      el.setAttribute(key, attrs[key]);
    });
    if (text) {
      el.textContent = text;
    }
    return el;
  }

  function showStatus(hub) {
    var status = document.getElementById("hubtrain-myhub-status");
    if (!status) {
      return;
    }
    var r = recipe();
    var builtName = r ? r.hub_name + " (" + r.hub_url + ")" : "the book's hub";
    status.textContent = hub
      ? "Exercise links open on " + hub + "."
      : "Exercise links open on " + builtName + ".";
    var reset = document.getElementById("hubtrain-myhub-reset");
    if (reset) {
      reset.hidden = !hub;
    }
  }

  function showError(message) {
    var error = document.getElementById("hubtrain-myhub-error");
    if (error) {
      error.textContent = message;
      error.hidden = !message;
    }
  }

  /* The control at the top of every page: an address box, Use and Reset buttons. */
  function addControl() {
    // The top of the page's article in the book theme; any page still gets one.
    var main = ["article.bd-article", "main", "body"]
      .map(function (selector) {
        return document.querySelector(selector);
      })
      .filter(Boolean)[0];
    var form = element("form", {
      class: "hubtrain-myhub",
      id: "hubtrain-myhub",
      role: "search",
      "aria-label": "My hub",
    });
    var label = element("label", { for: "hubtrain-myhub-input" }, "My hub:");
    var input = element("input", {
      id: "hubtrain-myhub-input",
      type: "text",
      inputmode: "url",
      autocomplete: "url",
      spellcheck: "false",
      placeholder: "https://your-hub.example.org",
    });
    var use = element("button", { type: "submit", id: "hubtrain-myhub-use" }, "Use my hub");
    var reset = element(
      "button",
      { type: "button", id: "hubtrain-myhub-reset" },
      "Reset to the book's hub"
    );
    var status = element("span", { id: "hubtrain-myhub-status", "aria-live": "polite" });
    var error = element("span", { id: "hubtrain-myhub-error", role: "alert" });
    error.hidden = true;
    var parts = [label, input, use, reset, status, error];
    var r = recipe();
    if (r && loopbackOnly(r.repo)) {
      /* The links keep this repository whatever hub is set: say where they work. */
      var note = element(
        "p",
        { id: "hubtrain-myhub-note" },
        "This book was built for " +
          r.hub_name +
          ", and its exercise links fetch the course from that hub's own repository (" +
          r.repo +
          "), which no other hub can reach. Use this box only to reach " +
          r.hub_name +
          " at another address (for example the one your workshop gives you). For your " +
          "own hub, use a copy of the book built for it."
      );
      input.setAttribute("aria-describedby", "hubtrain-myhub-note");
      parts.push(note);
    }
    parts.forEach(function (el) {
      form.appendChild(el);
    });
    main.insertBefore(form, main.firstChild);
    input.value = currentHub() || "";

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var hub = normalizeHub(input.value);
      if (!hub) {
        showError("That is not a hub address; type one like https://hub.example.org");
        return;
      }
      showError("");
      input.value = hub;
      sessionHub = hub;
      storeHub(hub);
      applyHub(hub);
    });
    reset.addEventListener("click", function () {
      sessionHub = null;
      storeHub(null);
      input.value = "";
      showError("");
      applyHub(null);
    });
  }

  /* The link maker page: a form whose fields are nbgitpullerLink's arguments. */
  function setUpLinkMaker() {
    var form = document.getElementById("hubtrain-link-maker");
    if (!form) {
      return;
    }
    var field = function (name) {
      return form.querySelector("[name='" + name + "']");
    };
    var output = document.getElementById("hubtrain-link-maker-output");
    var open = document.getElementById("hubtrain-link-maker-open");
    var error = document.getElementById("hubtrain-link-maker-error");
    var r = recipe();
    if (!field("hub").value) {
      field("hub").value = currentHub() || (r ? r.hub_url : "");
    }
    function update() {
      var hub = normalizeHub(field("hub").value);
      var repo = field("repo").value.trim();
      var message = "";
      var link = "";
      if (!hub) {
        message = "Type your hub's address, like https://hub.example.org";
      } else if (!repo) {
        message = ""; // nothing typed yet: no link, no complaint
      } else if (!/^(https?:\/\/|git@|ssh:\/\/)/.test(repo)) {
        message = "Type the address of a git repository, like https://github.com/org/repo";
      } else {
        try {
          link = nbgitpullerLink(hub, repo, field("path").value.trim(), {
            branch: field("branch").value.trim(),
            app: field("app").value,
            target_dir: field("target_dir").value.trim(),
            server_name: field("server_name").value.trim(),
            user_name: field("user_name").value.trim(),
          });
        } catch (e) {
          message = e.message;
        }
      }
      output.value = link;
      open.hidden = !link;
      if (link) {
        open.setAttribute("href", link);
      }
      error.textContent = message;
      error.hidden = !message;
    }
    form.addEventListener("input", update);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      update();
    });
    update();
  }

  function start() {
    var params = new URLSearchParams(window.location.search);
    var fromUrl = params.has("hub") ? normalizeHub(params.get("hub")) : null;
    if (fromUrl) {
      sessionHub = fromUrl;
      storeHub(fromUrl);
    }
    addControl();
    if (params.has("hub") && !fromUrl) {
      showError("The ?hub= address in this link is not a hub address; using the book's hub.");
    }
    applyHub(currentHub());
    setUpLinkMaker();
    // Another tab changed or reset the hub: follow it.
    window.addEventListener("storage", function (event) {
      if (event.key === STORAGE_KEY) {
        sessionHub = null;
        var input = document.getElementById("hubtrain-myhub-input");
        if (input) {
          input.value = currentHub() || "";
        }
        applyHub(currentHub());
      }
    });
  }

  window.hubtrainLinks = {
    nbgitpullerLink: nbgitpullerLink,
    normalizeHub: normalizeHub,
    loopbackOnly: loopbackOnly,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
