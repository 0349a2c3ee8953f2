// The room page and the projector page: ask for the room every few seconds and
// redraw it. Everything shown is set as text (never as HTML): names and check
// messages come from learners' files.
(function () {
  "use strict";
  var projector = document.body.getAttribute("data-view") === "projector";
  var source = projector ? "api/counts" : "api/room";
  var EVERY_MS = 3000;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function replaceBody(table, rows) {
    var body = document.createElement("tbody");
    rows.forEach(function (row) { body.appendChild(row); });
    table.replaceChild(body, table.tBodies[0]);
  }

  // Set text only when it changed: the status line is a live region, and screen
  // readers would otherwise announce it again at every refresh.
  function say(id, text, cls) {
    var node = document.getElementById(id);
    if (node.textContent !== text) node.textContent = text;
    node.className = cls || "";
  }

  function drawStatus(room) {
    var text = room.learners + " learners · " + room.running + " servers running";
    if (room.error) text = "Cannot read the hub just now: " + room.error + " (" + text + ")";
    say("status", text, room.error ? "error" : "");
    say("updated", "Updated " + room.updated + "; the page redraws itself every few seconds.");
  }

  function drawCounts(room) {
    replaceBody(document.getElementById("counts"), room.tasks.map(function (task) {
      var tr = el("tr");
      var th = el("th", task.title);
      th.scope = "row";
      tr.appendChild(th);
      tr.appendChild(el("td", task.passed, "count passed"));
      tr.appendChild(el("td", task.failing, "count failing"));
      tr.appendChild(el("td", task.not_tried, "count not-tried"));
      tr.setAttribute("data-task", task.key);
      return tr;
    }));
  }

  function drawHelp(room) {
    document.getElementById("rules").textContent = "Flagged when a learner failed the same task " +
      room.rules.stuck_tries + " times, or made no progress for " + room.rules.idle_minutes +
      " minutes while others did.";
    var list = document.getElementById("help");
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!room.needs_help.length) list.appendChild(el("li", "Nobody, right now."));
    room.needs_help.forEach(function (who) {
      var item = el("li");
      item.appendChild(el("strong", who.name));
      item.appendChild(document.createTextNode(": " + who.reasons.join("; ")));
      item.setAttribute("data-name", who.name);
      list.appendChild(item);
    });
  }

  function drawGrid(room) {
    var table = document.getElementById("grid");
    var head = el("tr");
    ["Learner", "Server", "Last activity"].forEach(function (label) {
      var th = el("th", label);
      th.scope = "col";
      head.appendChild(th);
    });
    room.tasks.forEach(function (task) {
      var th = el("th", task.title);
      th.scope = "col";
      th.title = task.key;
      head.appendChild(th);
    });
    table.tHead.replaceChild(head, table.tHead.rows[0]);
    replaceBody(table, room.rows.map(function (row) {
      var tr = el("tr", null, row.help.length ? "needs-help" : "");
      tr.setAttribute("data-name", row.name);
      var th = el("th", row.name);
      th.scope = "row";
      if (row.note) th.appendChild(el("span", " (" + row.note + ")", "note"));
      tr.appendChild(th);
      tr.appendChild(el("td", row.server, "server " + row.server.replace(" ", "-")));
      tr.appendChild(el("td", row.last_activity));
      row.cells.forEach(function (cell, index) {
        var td = el("td", cell.text, "cell " + cell.state.replace(" ", "-"));
        td.setAttribute("data-task", room.tasks[index].key);
        td.setAttribute("data-state", cell.state);
        tr.appendChild(td);
      });
      return tr;
    }));
  }

  function drawProjector(room) {
    drawCounts(room);
    document.getElementById("helpcount").textContent =
      room.needs_help + " of " + room.learners + " learners may need help.";
  }

  function refresh() {
    fetch(source, {cache: "no-store"})
      .then(function (reply) {
        if (!reply.ok) throw new Error("the room command answered " + reply.status);
        return reply.json();
      })
      .then(function (room) {
        drawStatus(room);
        if (projector) {
          drawProjector(room);
        } else {
          drawCounts(room);
          drawHelp(room);
          drawGrid(room);
        }
        document.body.setAttribute("data-updated", room.updated);
      })
      .catch(function (error) {
        say("status", "The room command is not answering (" + error.message +
          "); is `hubtrain room` still running?", "error");
      })
      .then(function () { window.setTimeout(refresh, EVERY_MS); });
  }

  refresh();
})();
