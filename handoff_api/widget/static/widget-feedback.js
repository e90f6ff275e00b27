// Asking the client about an answer: 问题已解答 / 问题未解答, then a star rating, and "did you mean" chips.

import { sendText } from "./widget-composer.js";
import { send } from "./widget-socket.js";
import { state } from "./widget-state.js";
import { el, scrollDown, view } from "./widget-view.js";

var FEEDBACK = [
  { label: "问题已解答", resolved: true },
  { label: "问题未解答", resolved: false }
];
var STAR_TITLES = ["非常不满意", "不满意", "一般", "满意", "非常满意"];

/** The two feedback buttons under the answer `seq` (the latest only); deferred while a person is awaited. */
export function showFeedback(seq) {
  if (seq < state.lastClientSeq) { return; }
  if (state.status === "queued" || state.status === "awaiting_responder") {
    // the state change that lets the client rate this answer may arrive just after it: show it then
    state.deferredFeedback = seq;
    return;
  }
  state.deferredFeedback = null;
  var item = state.bySeq.get(seq);
  if (!item || item.querySelector(".actions")) { return; }
  view.transcript.querySelectorAll(".actions").forEach(function (node) { node.remove(); });
  state.feedbackSeq = seq;
  var actions = el("div", "actions");
  FEEDBACK.forEach(function (option) {
    var button = el("button", option.resolved ? "yes" : "no", option.label);
    button.type = "button";
    button.addEventListener("click", function () {
      if (send({ type: "feedback", resolved: option.resolved })) {
        actions.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        button.classList.add("chosen");
        if (option.resolved) { showStars(item); }
      }
    });
    actions.appendChild(button);
  });
  item.appendChild(actions);
  scrollDown();
}

function showStars(item) {
  var stars = el("div", "stars");
  stars.appendChild(el("span", "stars-label", "请为本次服务评分"));
  STAR_TITLES.forEach(function (title, index) {
    var star = el("button", "star", "★");
    star.type = "button";
    star.title = title;
    star.setAttribute("aria-label", (index + 1) + "星：" + title);
    star.addEventListener("click", function () {
      if (send({ type: "rate", score: index + 1 })) {
        stars.querySelectorAll("button").forEach(function (b, i) {
          b.disabled = true;
          b.classList.toggle("lit", i <= index);
        });
      }
    });
    stars.appendChild(star);
  });
  item.appendChild(stars);
  scrollDown();
}

export function showRated() {
  view.transcript.querySelectorAll(".stars .stars-label").forEach(function (label) {
    label.textContent = "感谢您的评价！";
  });
}

/** "您是不是想问": one chip per suggested question, which asks it. */
export function showSuggestions(seq, items) {
  if (seq < state.lastClientSeq || !items.length) { return; }
  var chips = view.chips;
  chips.textContent = "";
  chips.appendChild(el("div", "chips-title", "您是不是想问："));
  items.forEach(function (suggestion) {
    var chip = el("button", "chip", suggestion.question);
    chip.type = "button";
    chip.addEventListener("click", function () { sendText(suggestion.question); });
    chips.appendChild(chip);
  });
  chips.classList.remove("hidden");
  scrollDown();
}
