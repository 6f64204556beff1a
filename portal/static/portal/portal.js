// The portal works without this file; it only adds conveniences. No inline scripts anywhere
// (the Content-Security-Policy forbids them), so behaviour hangs on data- attributes.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});

// Registration and verification: a preview of the photo chosen for an upload, before it is
// sent (img-src allows blob:). A PDF shows its name only.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.preview) {
    return;
  }
  const figure = document.getElementById(input.dataset.preview);
  if (!figure) return;
  const image = figure.querySelector("img");
  const caption = figure.querySelector("figcaption");
  if (image.dataset.url) URL.revokeObjectURL(image.dataset.url);
  const file = input.files && input.files[0];
  if (!file) {
    figure.hidden = true;
    return;
  }
  caption.textContent = file.name;
  if (file.type.startsWith("image/")) {
    image.dataset.url = URL.createObjectURL(file);
    image.src = image.dataset.url;
    image.hidden = false;
  } else {
    image.removeAttribute("src");
    image.hidden = true;
  }
  figure.hidden = false;
});

// A referral link's "Copy" button (data-copy: the text; data-copied: what the button says then).
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(() => {
    const label = button.textContent;
    button.textContent = button.getAttribute("data-copied") || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
