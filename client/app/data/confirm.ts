// A destructive step asked in a modal dialog first: its text set, shown, and answered by the
// button the owner pressed (Escape or "Keep" is no). Focus goes back where it was.

export function confirmer(dialog: HTMLDialogElement, text: HTMLElement) {
  return (words: string): Promise<boolean> =>
    new Promise((resolve) => {
      const before = dialog.ownerDocument.activeElement
      text.textContent = words
      dialog.returnValue = ''
      dialog.addEventListener(
        'close',
        () => {
          if (before instanceof HTMLElement) before.focus()
          resolve(dialog.returnValue === 'delete')
        },
        { once: true },
      )
      dialog.showModal()
    })
}
