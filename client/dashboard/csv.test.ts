import { describe, expect, it } from 'vitest'
import { csvField, roundsCsv } from './csv.ts'
import { round } from './fixtures.ts'

describe('csvField', () => {
  it('quotes what needs quoting and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain')
    expect(csvField(0.5)).toBe('0.5')
    expect(csvField(null)).toBe('')
    expect(csvField('a,b')).toBe('"a,b"')
    expect(csvField('say "hi"')).toBe('"say ""hi"""')
    expect(csvField('two\nlines')).toBe('"two\nlines"')
  })

  it('defuses text a spreadsheet would run as a formula, not negative numbers', () => {
    expect(csvField('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"')
    expect(csvField('+1')).toBe("'+1")
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvField(-0.5)).toBe('-0.5')
    expect(csvField('cr\rhere')).toBe('"cr\rhere"')
    expect(csvField(' padded')).toBe('" padded"')
  })
})

describe('roundsCsv', () => {
  it('writes a header and one CRLF line per round, durations in seconds', () => {
    const csv = roundsCsv({ id: 't1', name: 'Digits, "v2"' }, [
      round({
        round: 1,
        status: 'committed',
        accuracy: 0.81,
        loss: 0.6,
        trainingLoss: 0.75,
        epsilon: 1.25,
        bytesUp: 10,
        bytesDown: 20,
      }),
      round({
        round: 2,
        status: 'open',
        closedAt: null,
        model: null,
        accuracy: null,
        loss: null,
        trainingSeconds: null,
      }),
    ])
    const lines = csv.split('\r\n')
    expect(lines).toHaveLength(4)
    expect(lines[3]).toBe('')
    expect(lines[0]).toBe(
      'task,taskId,round,status,selected,reported,late,rejected,dropped,examples,accuracy,loss,' +
        'trainingLoss,epsilon,bytesUp,bytesDown,startedAt,deadlineAt,closedAt,durationSeconds,' +
        'waitingSeconds,trainingSeconds,baseModel,model',
    )
    expect(lines[1]).toBe(
      '"Digits, ""v2""",t1,1,committed,4,3,0,0,1,120,0.81,0.6,0.75,1.25,10,20,' +
        '2026-11-25T00:00:00.000Z,2026-11-25T00:02:00.000Z,2026-11-25T00:01:30.000Z,90,0,90,base,next',
    )
    expect(lines[2]).toContain(',2,open,')
    expect(lines[2]).toMatch(/,2026-11-25T00:02:00\.000Z,,,0,,base,$/)
  })
})
