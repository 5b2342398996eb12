// WCAG 2 contrast of each element's own text against the background it is drawn on (its own or
// the nearest ancestor's that is not transparent); SVG text by its fill. Returns those under
// 4.5:1 (tests/test_site.py runs it in the page).
const rgba = (c) => (c.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number);
const lum = ([r, g, b]) =>
  [r, g, b]
    .map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const under = (el) => {
  for (; el; el = el.parentElement) {
    const c = rgba(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
};
const low = [];
for (const el of document.querySelectorAll("body *")) {
  if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
  const style = getComputedStyle(el);
  if (style.display === "none" || el.getBoundingClientRect().right <= 0) continue;
  const ink = rgba(el instanceof SVGElement ? style.fill : style.color);
  const [a, b] = [lum(ink), lum(under(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) low.push(`${el.tagName} ${ratio.toFixed(2)} ${el.textContent.slice(0, 40)}`);
}
return low;
