// The insight builder: removing a filter row is local; the form then re-validates itself.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".remove-filter");
  if (!button) return;
  button.closest(".filter-row").remove();
  document.body.dispatchEvent(new Event("revalidate"));
});
