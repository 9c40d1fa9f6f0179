import { afterEach, describe, expect, it } from 'vitest'
import { actionsFor, cardHead, fact, modelText, privacyFacts, purposeOf } from './card-parts.ts'

afterEach(() => {
  document.body.replaceChildren()
})

describe('card parts', () => {
  it('heads a card with the task name, its state pill, and labels the card by the heading', () => {
    const { item, title } = cardHead(document, 'a', 'Digits', 'granted', 'Joined')
    expect(title.id).toBe('task-a')
    expect(item.className).toBe('card task')
    expect(item.dataset.taskId).toBe('a')
    expect(item.getAttribute('aria-labelledby')).toBe('task-a')
    expect(item.querySelector('.state.granted')?.textContent).toBe('Joined')
  })

  it('shows a purpose as text, and says when there is none', () => {
    const [, quote] = purposeOf(document, '<b>why</b>')
    expect(quote?.tagName).toBe('BLOCKQUOTE')
    expect(quote?.textContent).toBe('<b>why</b>')
    expect(quote?.children).toHaveLength(0)
    expect(purposeOf(document, '  ')[1]?.textContent).toBe('The data scientist gave no purpose.')
  })

  it('writes facts, the model and the privacy terms as a definition list', () => {
    expect(fact(document, 'Model', 'x').map((n) => [n.tagName, n.textContent])).toEqual([
      ['DT', 'Model'],
      ['DD', 'x'],
    ])
    expect(modelText({ preset: 'mnist-2nn', parameters: 199_210 })).toBe(
      'mnist-2nn, 199,210 parameters',
    )
    expect(privacyFacts(document, ['one', 'two']).map((n) => n.outerHTML)).toEqual([
      '<dt>Privacy</dt>',
      '<dd class="privacy">one</dd>',
      '<dd class="privacy">two</dd>',
    ])
  })

  it('ties every button and link of a card to its heading', () => {
    const { title } = cardHead(document, 'a', 'Digits', 'none', 'Not joined')
    const actions = actionsFor(
      document,
      title,
      document.createElement('button'),
      document.createElement('a'),
    )
    expect([...actions.children].map((c) => c.getAttribute('aria-describedby'))).toEqual([
      'task-a',
      'task-a',
    ])
  })
})
