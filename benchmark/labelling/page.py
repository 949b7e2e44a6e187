"""The rater's page: one HTML document, one script, one style sheet, all served by the app.

Why inline strings and no framework: the page must work with no network (no CDN), load nothing
from elsewhere (the Content-Security-Policy allows only this origin), and carry no study data in
its source: it is the same bytes for every rater and study, and the script fetches the current
trial from the API. Text from the server is set with ``textContent`` only, never as HTML.
"""

from __future__ import annotations

INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Feature judgments</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header>
  <h1>Feature judgments</h1>
  <p id="progress" aria-live="polite"></p>
</header>
<main>
  <p id="error" role="alert" hidden></p>
  <section id="loading"><p>Loading&hellip;</p></section>

  <section id="trial" hidden>
    <p id="practice" class="badge" hidden>Practice trial: not counted</p>

    <div id="task-2afc" hidden>
      <p class="instructions">The frames below show where one feature of an agent's network is
      strongest. <span class="pos">Red</span>: the feature raises the agent's estimate of how well it
      is doing; <span class="neg">blue</span>: it lowers it.</p>
      <img id="ref-img" class="grid" alt="frames where the feature is strongest, attribution overlaid">
      <p class="question">In which of these two frames is the feature <strong>stronger</strong>?</p>
      <div class="queries">
        <label class="query"><input type="radio" name="choice" value="a" id="choice-a">
          <img id="query-a" alt="query frame A"><span>A</span></label>
        <label class="query"><input type="radio" name="choice" value="b" id="choice-b">
          <img id="query-b" alt="query frame B"><span>B</span></label>
      </div>
      <fieldset>
        <legend>How sure are you?</legend>
        <div id="confidence"></div>
      </fieldset>
    </div>

    <div id="task-rating" hidden>
      <p class="instructions">The frames below are where one feature of an agent's network is
      strongest. <span class="pos">Red</span>: the feature raises the agent's estimate of how well it
      is doing; <span class="neg">blue</span>: it lowers it.</p>
      <img id="examples-img" class="grid" alt="frames where the feature is strongest, attribution overlaid">
      <fieldset>
        <legend>Does the feature consistently focus on the same objects, and does its value
        attribution make sense? 0: not at all, 10: clearly.</legend>
        <div id="rating" class="scale"></div>
      </fieldset>
      <fieldset>
        <legend>Which object does it focus on?</legend>
        <select id="object" aria-label="object"></select>
        <input id="object-text" type="text" maxlength="60" placeholder="name the object" hidden
               aria-label="object, in your words">
      </fieldset>
    </div>

    <button id="submit" type="button" disabled>Submit</button>
  </section>

  <section id="feedback" hidden>
    <p id="feedback-text"></p>
    <button id="continue" type="button">Continue</button>
  </section>

  <section id="done" hidden>
    <p>All trials are done. Thank you! You can close this window.</p>
  </section>
</main>
</body>
</html>
"""

APP_CSS = """
[hidden] { display: none !important; }
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 860px; padding: 0 16px 32px; color: #222; }
header { display: flex; justify-content: space-between; align-items: baseline; border-bottom: 1px solid #ddd; }
h1 { font-size: 1.3rem; }
#progress { color: #555; }
.badge { display: inline-block; background: #fff3cd; border: 1px solid #e0c36b; padding: 2px 8px; border-radius: 4px; }
.instructions { line-height: 1.4; }
.pos { color: #d11; font-weight: 600; }
.neg { color: #24c; font-weight: 600; }
img { image-rendering: pixelated; }
img.grid { display: block; max-width: 100%; margin: 8px 0; }
.queries { display: flex; gap: 32px; margin: 8px 0 12px; }
.query { display: flex; flex-direction: column; align-items: center; cursor: pointer; border: 3px solid transparent;
         padding: 4px; border-radius: 6px; }
.query:has(input:checked) { border-color: #2a7; }
.query input { margin-bottom: 4px; }
fieldset { border: 1px solid #ddd; border-radius: 6px; margin: 10px 0; }
.scale label, #confidence label { margin-right: 10px; white-space: nowrap; }
#object-text { margin-left: 8px; }
button { font-size: 1rem; padding: 6px 18px; }
#error { background: #fde2e1; border: 1px solid #e99; padding: 6px 10px; border-radius: 4px; }
"""

APP_JS = r"""
"use strict";
(function () {
  const match = window.location.pathname.match(/^\/s\/([A-Za-z0-9_-]+)\/?/);
  const base = match ? "/s/" + match[1] + "/" : null;
  const $ = (id) => document.getElementById(id);
  let current = null;

  function show(id) {
    for (const s of ["loading", "trial", "feedback", "done"]) { $(s).hidden = s !== id; }
  }
  function error(message) { $("error").textContent = message; $("error").hidden = !message; }

  async function call(path, options) {
    const response = await fetch(base + path, Object.assign({ cache: "no-store", credentials: "same-origin" }, options));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) { throw new Error((body && body.error) || ("request failed: HTTP " + response.status)); }
    return body;
  }

  function radios(container, name, labels) {
    container.replaceChildren();
    labels.forEach((text, i) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "radio"; input.name = name; input.value = String(i); input.id = name + "-" + i;
      input.addEventListener("change", update);
      label.append(input, " " + text);
      container.append(label);
    });
  }
  function checked(name) {
    const input = document.querySelector("input[name='" + name + "']:checked");
    return input ? input.value : null;
  }

  function update() {
    if (!current) { return; }
    let ready;
    if (current.type === "2afc") {
      ready = checked("choice") !== null && checked("confidence") !== null;
    } else {
      const other = $("object").value === "other";
      $("object-text").hidden = !other;
      ready = checked("rating") !== null && $("object").value !== "" && (!other || $("object-text").value.trim() !== "");
    }
    $("submit").disabled = !ready;
  }

  function render(trial) {
    current = trial;
    const section = $("trial");
    section.dataset.type = trial.type;
    section.dataset.trial = trial.trial;
    section.dataset.practice = trial.practice ? "1" : "0";
    $("progress").textContent = "Trial " + trial.number + " of " + trial.total;
    $("practice").hidden = !trial.practice;
    $("task-2afc").hidden = trial.type !== "2afc";
    $("task-rating").hidden = trial.type !== "rating";
    if (trial.type === "2afc") {
      $("ref-img").src = base + "img/" + trial.images.reference;
      $("query-a").src = base + "img/" + trial.images.a;
      $("query-b").src = base + "img/" + trial.images.b;
      $("choice-a").checked = false; $("choice-b").checked = false;
      radios($("confidence"), "confidence", trial.confidence_levels);
    } else {
      $("examples-img").src = base + "img/" + trial.images.examples;
      radios($("rating"), "rating", Array.from({ length: trial.scale_max + 1 }, (_, i) => String(i)));
      const select = $("object");
      select.replaceChildren();
      const prompt = document.createElement("option");
      prompt.value = ""; prompt.textContent = "choose\u2026";
      select.append(prompt);
      for (const name of trial.objects) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name === "other" ? "other (type it)" : name === "none" ? "none in particular" : name;
        select.append(option);
      }
      $("object-text").value = "";
    }
    update();
    show("trial");
  }

  async function next() {
    error("");
    try {
      const trial = await call("api/trial");
      if (trial.done) { current = null; $("progress").textContent = trial.completed + " of " + trial.total + " done"; show("done"); }
      else { render(trial); }
    } catch (e) { error(e.message); }
  }

  async function submit() {
    if (!current) { return; }
    $("submit").disabled = true;
    let answer;
    if (current.type === "2afc") {
      answer = { choice: checked("choice"), confidence: Number(checked("confidence")) + 1 };
    } else {
      answer = { rating: Number(checked("rating")), object: $("object").value };
      if (answer.object === "other") { answer.object_text = $("object-text").value; }
    }
    try {
      const result = await call("api/trial/" + encodeURIComponent(current.trial), {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(answer) });
      if (result.feedback) {
        const f = result.feedback;
        $("feedback-text").textContent = "stronger" in f
          ? (f.correct ? "Right: " : "Not quite: ") + "the feature was stronger in frame " + f.stronger.toUpperCase() + "."
          : "This practice feature's rating should be " + f.expected + (f.object ? " (it is the " + f.object + " mask)." : ".");
        current = null;
        show("feedback");
      } else { await next(); }
    } catch (e) { error(e.message); update(); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!base) { error("Open the link that `interpbench label` printed for you."); return; }
    $("submit").addEventListener("click", submit);
    $("continue").addEventListener("click", next);
    $("object").addEventListener("change", update);
    $("object-text").addEventListener("input", update);
    for (const input of document.querySelectorAll("input[name='choice']")) { input.addEventListener("change", update); }
    next();
  });
})();
"""

LANDING_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feature judgments</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><h1>Feature judgments</h1><p>Open the link that <code>interpbench label</code> printed for you.</p></body></html>
"""
