/** The element with `id`, checked to be of the expected kind: the shell's markup is a contract. */
export function byId<T extends HTMLElement>(
  root: Document,
  id: string,
  kind: abstract new (...args: never[]) => T,
): T {
  const element = root.getElementById(id)
  if (!(element instanceof kind)) {
    throw new Error(`the page has no ${kind.name} #${id}`)
  }
  return element
}

/** Creates an element with a class and children (text or elements). */
export function h<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className: string | null,
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = doc.createElement(tag)
  if (className) element.className = className
  element.append(...children)
  return element
}
