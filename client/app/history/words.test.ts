import { describe, expect, it } from 'vitest'
import { downloadedWords, sentWords, totalsWords } from './words.ts'

describe('History words', () => {
  it('says the codec beside the bytes sent, and only the bytes for a masked sum', () => {
    expect(sentWords(25_508, 'bbit1')).toBe('26 kB, bbit1')
    expect(sentWords(797_356, 'float32')).toBe('797 kB, float32')
    expect(sentWords(797_356, undefined)).toBe('797 kB')
  })

  it('says what came down and how, held models as nothing, uncounted ones not at all', () => {
    expect(downloadedWords({ bytesDown: 202_926, downloadEncoding: 'delta' })).toBe('203 kB, delta')
    expect(downloadedWords({ bytesDown: 0 })).toBe('nothing (held)')
    expect(downloadedWords({})).toBeNull()
  })

  it('totals models downloaded beside updates sent, where rounds counted them', () => {
    const rounds = [
      { bytesSent: 25_508, bytesDown: 398_900, downloadEncoding: 'float16' as const },
      { bytesSent: 25_508, bytesDown: 202_926, downloadEncoding: 'delta' as const },
      { bytesSent: 25_508, bytesDown: 0 },
    ]
    expect(totalsWords(rounds)).toBe(
      '77 kB of weight updates sent, no examples; 602 kB of models downloaded.',
    )
    // Rounds from before downloads were counted: no claim about them.
    expect(totalsWords([{ bytesSent: 797_356 }])).toBe(
      '797 kB of weight updates sent, no examples.',
    )
  })
})
