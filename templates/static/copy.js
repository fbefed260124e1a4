/* pitchmap copy buttons: <button data-copy="ID" data-copy-status="ID2"> copies the value of the
 * field #ID to the clipboard and says so in #ID2 (an aria-live region). The buttons start
 * hidden and are shown only where the clipboard can be written; the field stays selectable,
 * so copying by hand always works.
 */
(() => {
  'use strict';

  if (!navigator.clipboard || typeof navigator.clipboard.writeText !== 'function') return;

  const say = (button, text) => {
    const status = document.getElementById(button.dataset.copyStatus || '');
    if (status) status.textContent = text;
  };

  const copy = async (button) => {
    const field = document.getElementById(button.dataset.copy || '');
    if (!field) return;
    say(button, '');
    try {
      await navigator.clipboard.writeText(field.value);
      say(button, 'Copied');
    } catch (error) {
      field.focus();
      field.select();
      say(button, 'Could not copy: the link is selected, copy it with your keyboard.');
    }
  };

  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false;
    button.addEventListener('click', () => copy(button));
  }
})();
