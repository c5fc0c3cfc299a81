// The page's only script. It loads config.json from this site, sends the review to
// POST {apiUrl}/predict, and shows the answer. Everything the API or the visitor supplies is
// inserted with textContent, never as HTML.
"use strict";

const DEFAULT_MAX_REVIEW_CHARS = 20000;
const REQUEST_TIMEOUT_MS = 35000; // a little above API Gateway's 29 s integration limit

const MESSAGES_BY_STATUS = {
  400: "The review could not be read. Please check it and try again.",
  413: "The review is too long. Please shorten it and try again.",
  415: "The review was sent in a format the service does not accept.",
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
  apiUrl: null, maxChars: DEFAULT_MAX_REVIEW_CHARS, busy: false, configError: null, configReady: null,
};
const numberFormat = new Intl.NumberFormat("en");

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
  } catch (error) {
    state.configError = CONFIG_MESSAGE;
    console.error(error);
  }
  updateCounter();
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

function showPrediction(prediction) {
  const positive = prediction.sentiment === "positive";
  const score = Math.min(1, Math.max(0, Number(prediction.score)));
  const confidence = positive ? score : 1 - score;
  $("sentiment").textContent = positive ? "Positive" : "Negative";
  $("prediction").className = `prediction ${positive ? "positive" : "negative"}`;
  $("score-bar").style.width = `${(score * 100).toFixed(1)}%`;
  $("score-text").textContent =
    `Probability positive: ${(score * 100).toFixed(1)}% (${Math.round(confidence * 100)}% confident it is ${positive ? "positive" : "negative"})`;
  $("prediction").hidden = false;
  $("api-error").hidden = true;
  showStatus("");
}

function showApiError(message) {
  $("prediction").hidden = true;
  const box = $("api-error");
  box.textContent = message;
  box.hidden = false;
  showStatus("");
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
    showStatus("Analysing your review…");
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
      body: JSON.stringify({ review }),
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
  if (outcome.prediction) showPrediction(outcome.prediction);
  else showApiError(outcome.error);
}

function clearAll() {
  $("review").value = "";
  updateCounter();
  showFormError("");
  $("prediction").hidden = true;
  $("api-error").hidden = true;
  showStatus("");
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
