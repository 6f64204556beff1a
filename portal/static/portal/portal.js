// The portal works without this file; it only adds conveniences. No inline scripts anywhere
// (the Content-Security-Policy forbids them), so behaviour hangs on data- attributes.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});
