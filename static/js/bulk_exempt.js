// The insight page's bulk exemption: the form moves under the failing-resources list, a header
// checkbox selects the page, and the count of checked resources follows the boxes.
(function () {
  const form = document.getElementById("bulk-exempt");
  const table = document.getElementById("failing-table");
  if (!form || !table) return;
  table.after(form);
  const boxes = () => Array.from(document.querySelectorAll('input[name="resource"][form="bulk-exempt"]'));
  const count = document.getElementById("bulk-checked-count");
  const checkedChoice = form.querySelector('input[name="select"][value="checked"]');
  const page = document.getElementById("bulk-select-page");
  const update = () => {
    const all = boxes();
    const n = all.filter((box) => box.checked).length;
    count.textContent = String(n);
    if (n) checkedChoice.checked = true;
    if (page) {
      page.checked = n > 0 && n === all.length;
      page.indeterminate = n > 0 && n < all.length;
    }
  };
  if (page) {
    page.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = page.checked; });
      update();
    });
  }
  table.addEventListener("change", (event) => {
    if (event.target.name === "resource") update();
  });
  update();
})();
