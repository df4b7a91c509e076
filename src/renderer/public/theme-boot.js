// Apply the last chosen theme before first paint (no flash); settings.get confirms it later.
try {
  var t = localStorage.getItem('daguerre.theme');
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
} catch (e) {}
