// Copy buttons: htmx can't write to the clipboard. Without JS the text is still selectable.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select and copy";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
});

// Keep a followed build log scrolled to the end, unless the reader scrolled up to read.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const log = event.detail.target;
  if (log && log.id === "build-log") {
    log.dataset.atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40 ? "1" : "";
  }
});
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const log = event.detail.target;
  if (log && log.id === "build-log" && log.dataset.atEnd) log.scrollTop = log.scrollHeight;
});

// A finished build's log opens at its end, where the outcome is.
function showLogEnd() {
  const log = document.getElementById("build-log");
  if (log) log.scrollTop = log.scrollHeight;
}
document.addEventListener("DOMContentLoaded", showLogEnd);
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.target && event.detail.target.id === "build-panel") showLogEnd();
});
