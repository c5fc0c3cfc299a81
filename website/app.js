// The page's only script. It loads config.json from this site, sends the review to
// POST {apiUrl}/predict with "explain": true, and shows the answer: the verdict (or "mixed" in the
// uncertain band), the visitor's own text with each word tinted by its weight, and a line per
// sentence. Everything the API or the visitor supplies is inserted as text nodes or with
// textContent, never as HTML.
"use strict";

const DEFAULT_MAX_REVIEW_CHARS = 20000;
const DEFAULT_UNCERTAIN_BAND = [0.4, 0.6];
// A word is marked when its weight is at least this share of the review's largest; marks come
// in three strengths, from these shares up.
const MARK_SHARE = 0.15;
const STRONG_SHARE = 0.6;
const MEDIUM_SHARE = 0.35;
const TOP_WORDS = 5;
const REQUEST_TIMEOUT_MS = 35000; // a little above API Gateway's 29 s integration limit

const MESSAGES_BY_STATUS = {
  400: "The review could not be read. Please check it and try again.",
  413: "The review is too long. Please shorten it and try again.",
  403: "The sentiment service refused the request. Please reload the page and try again.",
  415: "The review was sent in a format the service does not accept. Please reload the page and try again.",
  429: "The service is busy right now. Please wait a few seconds and try again.",
  500: "Something went wrong on our side. Please try again.",
  502: "The sentiment model could not analyse this review. Please try again.",
  503: "The sentiment service is unavailable right now. Please try again in a minute.",
  504: "The sentiment model took too long to answer. Please try again in a moment.",
};
const NETWORK_MESSAGE =
  "Could not reach the sentiment service. Check your internet connection and try again.";
const TIMEOUT_MESSAGE = "The sentiment service did not answer in time. Please try again.";
const CONFIG_MESSAGE =
  "The page could not load its settings, so reviews cannot be sent. Please reload the page.";

const state = {
  apiUrl: null, maxChars: DEFAULT_MAX_REVIEW_CHARS, band: DEFAULT_UNCERTAIN_BAND, busy: false,
  configError: null, configReady: null,
};
const numberFormat = new Intl.NumberFormat("en");
const weightFormat = new Intl.NumberFormat("en", { maximumFractionDigits: 2, minimumFractionDigits: 2, signDisplay: "always" });

function $(id) {
  return document.getElementById(id);
}

async function loadConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    const config = await response.json();
    if (typeof config.apiUrl !== "string" || !config.apiUrl) throw new Error("config.json: no apiUrl");
    state.apiUrl = config.apiUrl.replace(/\/+$/, "");
    if (Number.isInteger(config.maxReviewChars) && config.maxReviewChars > 0) {
      state.maxChars = config.maxReviewChars;
    }
    const band = config.uncertainBand;
    // The band must hold 0.5, where the API's own verdict turns, or the page would contradict it.
    if (Array.isArray(band) && band.length === 2 && band[0] <= 0.5 && band[1] >= 0.5 && band[0] >= 0 && band[1] <= 1) {
      state.band = band;
    }
  } catch (error) {
    state.configError = CONFIG_MESSAGE;
    console.error(error);
  }
  updateCounter();
  $("band-low").textContent = String(Math.round(state.band[0] * 100));
  $("band-high").textContent = String(Math.round(state.band[1] * 100));
  $("band").style.left = `${state.band[0] * 100}%`;
  $("band").style.right = `${(1 - state.band[1]) * 100}%`;
}

// Characters as the API counts them (code points), so an emoji counts once.
function charCount(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function updateCounter() {
  const length = charCount($("review").value);
  const counter = $("review-count");
  counter.textContent = `${numberFormat.format(length)} / ${numberFormat.format(state.maxChars)}`;
  counter.classList.toggle("over", length > state.maxChars);
}

function showFormError(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = !message;
  $("review").setAttribute("aria-invalid", message ? "true" : "false");
}

function showStatus(message) {
  $("status").textContent = message;
}

// "positive", "negative" or "uncertain" for a probability of "positive".
function leaning(probability) {
  if (probability >= state.band[0] && probability <= state.band[1]) return "uncertain";
  return probability > state.band[1] ? "positive" : "negative";
}

const LEANING_WORDS = { positive: "Positive", negative: "Negative", uncertain: "Mixed / not sure" };

function percent(probability) {
  return `${(probability * 100).toFixed(1)}%`;
}

function showPrediction(prediction, review) {
  const score = Math.min(1, Math.max(0, Number(prediction.score)));
  const reading = leaning(score);
  $("sentiment").textContent = LEANING_WORDS[reading];
  $("prediction").className = `prediction ${reading}`;
  $("score-bar").style.width = `${(score * 100).toFixed(1)}%`;
  let detail;
  if (reading === "uncertain") {
    detail = `Probability positive: ${percent(score)}. Between ${Math.round(state.band[0] * 100)}% and ` +
      `${Math.round(state.band[1] * 100)}% the model is not sure: the review reads as mixed.`;
  } else {
    detail = `Probability positive: ${percent(score)}`;
  }
  $("score-text").textContent = detail;
  showExplanation(prediction.explanation, review);
  $("prediction").hidden = false;
  $("api-error").hidden = true;
  showStatus("");
  announce(`${LEANING_WORDS[reading]}. ${detail}`);
}

// The review as code points: the API's offsets count code points, JavaScript strings count
// UTF-16 units, so an emoji would otherwise shift every later word.
function codePoints(text) {
  return Array.from(text);
}

// Words whose offsets match the review as sent, in order, without overlaps.
function checkedWords(words, characters) {
  if (!Array.isArray(words)) return [];
  const checked = [];
  let previousEnd = 0;
  for (const word of words) {
    if (!word || !Number.isInteger(word.start) || !Number.isInteger(word.end)) continue;
    if (word.start < previousEnd || word.end <= word.start || word.end > characters.length) continue;
    const weight = Number(word.weight);
    if (!Number.isFinite(weight)) continue;
    const text = characters.slice(word.start, word.end).join("");
    if (text !== word.text) continue;
    checked.push({ text, start: word.start, end: word.end, weight });
    previousEnd = word.end;
  }
  return checked;
}

function signedWeight(weight) {
  return weightFormat.format(weight).replace("-", "\u2212");
}

function weightWords(weight) {
  return `${signedWeight(weight)} towards ${weight > 0 ? "positive" : "negative"}`;
}

// The words weighing at least MARK_SHARE of the largest weight: the ones the page marks and lists.
function strongWords(words) {
  const largest = Math.max(0, ...words.map((word) => Math.abs(word.weight)));
  const strong = largest > 0 ? words.filter((word) => Math.abs(word.weight) >= MARK_SHARE * largest) : [];
  return { largest, strong: new Set(strong) };
}

function markFor(word, largest) {
  const share = Math.abs(word.weight) / largest;
  const level = share >= STRONG_SHARE ? 3 : share >= MEDIUM_SHARE ? 2 : 1;
  const mark = document.createElement("mark");
  mark.className = `word ${word.weight > 0 ? "towards-positive" : "towards-negative"} level-${level}`;
  mark.tabIndex = 0;
  mark.dataset.tip = weightWords(word.weight);
  mark.append(word.text);
  const description = document.createElement("span");
  description.className = "visually-hidden";
  description.textContent = ` (${weightWords(word.weight)})`;
  mark.append(description);
  return mark;
}

function renderHighlighted(container, characters, words) {
  container.replaceChildren();
  const { largest, strong } = strongWords(words);
  let cursor = 0;
  for (const word of words) {
    if (word.start > cursor) container.append(characters.slice(cursor, word.start).join(""));
    if (strong.has(word)) {
      container.append(markFor(word, largest));
    } else {
      container.append(word.text);
    }
    cursor = word.end;
  }
  if (cursor < characters.length) container.append(characters.slice(cursor).join(""));
}

function describeTopWords(container, words) {
  const strong = [...strongWords(words).strong];
  const listing = (sign) => strong
    .filter((word) => Math.sign(word.weight) === sign)
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
    .slice(0, TOP_WORDS)
    .map((word) => `${word.text} (${signedWeight(word.weight)})`)
    .join(", ");
  const positive = listing(1);
  const negative = listing(-1);
  const parts = [];
  if (positive) parts.push(`Towards positive: ${positive}.`);
  if (negative) parts.push(`Towards negative: ${negative}.`);
  container.textContent = parts.length ? parts.join(" ") : "No word stood out: the model read the review as a whole.";
}

// Whole percents, without claiming certainty: 0.3% shows as "<1%", not "0%".
function roundedPercent(probability) {
  const value = probability * 100;
  if (value > 0 && value < 1) return "<1%";
  if (value > 99 && value < 100) return ">99%";
  return `${Math.round(value)}%`;
}

function renderSentences(list, characters, sentences) {
  list.replaceChildren();
  for (const sentence of sentences) {
    const probability = Math.min(1, Math.max(0, Number(sentence.probability)));
    const reading = leaning(probability);
    const item = document.createElement("li");
    item.className = reading;
    const label = document.createElement("span");
    label.className = "sentence-leaning";
    label.textContent = `${LEANING_WORDS[reading]} ${roundedPercent(probability)}`;
    const text = document.createElement("span");
    text.className = "sentence-text";
    text.textContent = characters.slice(sentence.start, sentence.end).join("");
    item.append(label, " ", text);
    list.append(item);
  }
}

function showExplanation(explanation, review) {
  const block = $("explanation");
  if (!explanation || typeof explanation !== "object" || typeof review !== "string") {
    block.hidden = true;
    return;
  }
  const characters = codePoints(review);
  const words = checkedWords(explanation.words, characters);
  describeTopWords($("top-words"), words);
  renderHighlighted($("highlighted"), characters, words);
  const sentences = (Array.isArray(explanation.sentences) ? explanation.sentences : []).filter((s) =>
    s && Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end <= characters.length &&
    s.start < s.end && Number.isFinite(Number(s.probability)));
  renderSentences($("sentences"), characters, sentences);
  $("sentence-breakdown").hidden = sentences.length < 2;
  block.hidden = false;
}

function announce(message) {
  $("announcement").textContent = message;
}

function showApiError(message) {
  $("prediction").hidden = true;
  const box = $("api-error");
  box.textContent = message;
  box.hidden = false;
  showStatus("");
  announce(message);
}

function setBusy(busy) {
  state.busy = busy;
  const button = $("submit");
  button.disabled = busy;
  button.textContent = busy ? "Analysing…" : "Analyse sentiment";
  $("result").setAttribute("aria-busy", busy ? "true" : "false");
  document.body.classList.toggle("busy", busy);
  if (busy) {
    $("api-error").hidden = true;
    $("prediction").hidden = true;
    showStatus("Analysing your review…");
    announce("Analysing your review…");
  }
}

// Checks what the visitor can fix before anything is sent.
function validationMessage(review) {
  if (state.configError) return state.configError;
  if (!review.trim()) return "Please type a review first.";
  const length = charCount(review);
  if (length > state.maxChars) {
    return `The review is ${numberFormat.format(length)} characters long; the limit is ${numberFormat.format(state.maxChars)}. Please shorten it.`;
  }
  return "";
}

async function errorMessageFrom(response) {
  let serverMessage = "";
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") serverMessage = body.error;
  } catch (_) {
    // not JSON (a proxy's error page, for instance): fall back to the status message
  }
  // 4xx messages describe the review, so they are worth showing; for 5xx the API's own message
  // is also written for visitors.
  return serverMessage || MESSAGES_BY_STATUS[response.status] ||
    `The sentiment service answered with an unexpected error (HTTP ${response.status}). Please try again.`;
}

async function predict(review) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(`${state.apiUrl}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ review, explain: true }),
      signal: controller.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    clearTimeout(timer);
    return { error: error.name === "AbortError" ? TIMEOUT_MESSAGE : NETWORK_MESSAGE };
  }
  try {
    if (!response.ok) return { error: await errorMessageFrom(response) };
    const prediction = await response.json();
    if (!prediction || (prediction.sentiment !== "positive" && prediction.sentiment !== "negative")) {
      return { error: MESSAGES_BY_STATUS[502] };
    }
    return { prediction };
  } catch (error) {
    // the body was cut off or was not JSON
    return { error: error.name === "AbortError" ? TIMEOUT_MESSAGE : MESSAGES_BY_STATUS[502] };
  } finally {
    clearTimeout(timer);
  }
}

async function submitReview() {
  if (state.busy) return;
  await state.configReady; // a visitor quicker than config.json waits for it
  const review = $("review").value;
  const problem = validationMessage(review);
  showFormError(problem);
  if (problem) {
    $("review").focus();
    return;
  }
  setBusy(true);
  const outcome = await predict(review);
  setBusy(false);
  if (outcome.prediction) showPrediction(outcome.prediction, review);
  else showApiError(outcome.error);
}

function clearAll() {
  $("review").value = "";
  updateCounter();
  showFormError("");
  $("prediction").hidden = true;
  $("api-error").hidden = true;
  showStatus("Your result will appear here.");
  announce("");
  $("review").focus();
}

function init() {
  const textarea = $("review");
  textarea.addEventListener("input", () => {
    updateCounter();
    if (!$("form-error").hidden && !validationMessage(textarea.value)) showFormError("");
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitReview();
    }
  });
  $("review-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitReview();
  });
  $("clear").addEventListener("click", clearAll);
  for (const button of document.querySelectorAll("button.example")) {
    button.addEventListener("click", () => {
      textarea.value = button.textContent.trim();
      updateCounter();
      showFormError("");
      textarea.focus();
    });
  }
  updateCounter();
  state.configReady = loadConfig();
}

document.addEventListener("DOMContentLoaded", init);
