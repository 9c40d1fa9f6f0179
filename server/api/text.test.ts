import { describe, expect, it } from 'vitest'
import { badText, findBadText } from './text.ts'

describe('text the store cannot hold', () => {
  it('knows NUL and unpaired surrogates from text, pairs (emoji) included', () => {
    for (const ok of ['', 'plain', 'é ☃ 🐝 中文', '\u202e', '\uffff', '\ud83d\udc1d'])
      expect(badText(ok), JSON.stringify(ok)).toBeUndefined()
    expect(badText('a\u0000b')).toContain('NUL')
    for (const lone of ['\ud800', 'a\ud800b', '\udc00', 'x\udc00', '\ud83d\ud83d', '\udc1d\ud83d'])
      expect(badText(lone), JSON.stringify(lone)).toContain('unpaired')
  })

  it('names the first bad string in a JSON value by its path, keys included', () => {
    expect(findBadText({ a: 1, b: ['x', null, true], c: { d: 'ok' } })).toBeUndefined()
    expect(findBadText({ capabilities: { userAgent: 'x\u0000' } })).toMatchObject({
      field: 'capabilities.userAgent',
    })
    expect(findBadText({ datasets: [{ name: 'ok' }, { name: '\ud800' }] })).toMatchObject({
      field: 'datasets.1.name',
    })
    expect(findBadText('\u0000')).toMatchObject({ field: '(body)' })
    expect(findBadText({ ok: { ['k\u0000']: 1 } })).toMatchObject({
      field: 'ok.k\\u0000',
      message: expect.stringContaining('its name') as unknown,
    })
  })

  it('walks a deeply nested or very wide value without overflowing the stack, in linear time', () => {
    let deep: unknown = 'x\u0000'
    for (let i = 0; i < 200_000; i++) deep = [deep]
    expect(findBadText(deep)?.field.split('.').length).toBe(200_000)
    const wide = { weights: Array.from({ length: 2_000_000 }, (_, i) => i), last: ['\ud800'] }
    expect(findBadText(wide)?.field).toBe('last.0')
  })
})
