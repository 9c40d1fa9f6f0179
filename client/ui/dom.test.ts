import { describe, expect, it } from 'vitest'
import { byId, h } from './dom.ts'

describe('byId', () => {
  it('returns the element of the expected kind', () => {
    const button = document.createElement('button')
    button.id = 'dom-test-button'
    document.body.append(button)
    try {
      expect(byId(document, 'dom-test-button', HTMLButtonElement)).toBe(button)
      // The markup is a contract: another kind of element under that id is an error.
      expect(() => byId(document, 'dom-test-button', HTMLInputElement)).toThrow(
        'the page has no HTMLInputElement #dom-test-button',
      )
    } finally {
      button.remove()
    }
  })

  it('throws for a missing id', () => {
    expect(() => byId(document, 'dom-test-missing', HTMLElement)).toThrow(
      'the page has no HTMLElement #dom-test-missing',
    )
  })
})

describe('h', () => {
  it('creates an element with a class and its children in order', () => {
    const inner = document.createElement('b')
    const p = h(document, 'p', 'note', 'one ', inner, ' two')
    expect(p.tagName).toBe('P')
    expect(p.className).toBe('note')
    expect([...p.childNodes].map((n) => n.textContent)).toEqual(['one ', '', ' two'])
    expect(p.childNodes[1]).toBe(inner)
  })

  it('leaves the class unset when none is given', () => {
    expect(h(document, 'span', null).hasAttribute('class')).toBe(false)
  })
})
