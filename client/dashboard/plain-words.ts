// The coordinator's refusals are worded for its REST API: zod's phrasing ("Too small: expected
// number to be >0") and field names ("clientsPerRound"). A form says the same in plain words,
// with the names its labels give the fields.

/** zod's phrasings and what a person reads instead. */
const PHRASES: [RegExp, (...groups: string[]) => string][] = [
  [/^Too small: expected number to be >(-?[\w.+-]+)$/, (n) => `must be more than ${n}`],
  [/^Too small: expected number to be >=(-?[\w.+-]+)$/, (n) => `must be at least ${n}`],
  [/^Too big: expected number to be <(-?[\w.+-]+)$/, (n) => `must be less than ${n}`],
  [/^Too big: expected number to be <=(-?[\w.+-]+)$/, (n) => `must be at most ${n}`],
  [
    /^Too small: expected string to have >=(\d+) characters?$/,
    (n) => (n === '1' ? 'must not be empty' : `must have at least ${n} characters`),
  ],
  [
    /^Too big: expected string to have <=(\d+) characters?$/,
    (n) => `must have at most ${n} characters`,
  ],
  [/^Invalid input: expected int, received number$/, () => 'must be a whole number'],
  [/^Invalid input: expected number, received \w+$/, () => 'must be a number'],
  [/^Invalid input: expected (\w+), received \w+$/, (type) => `must be a ${type}`],
  [
    /^Invalid option: expected one of (.+)$/,
    (options) => `must be one of ${options.replaceAll('"', '').split('|').join(', ')}`,
  ],
]

/** A label as it reads inside a sentence: "Devices per round" → "devices per round". */
const inSentence = (label: string) =>
  /^[A-Z][a-z]/.test(label) ? label[0]!.toLowerCase() + label.slice(1) : label

/**
 * `message` in plain words: zod's phrasing rewritten, and each field name the form has a label
 * for (`rounds.clientsPerRound`, or its last part where that is a camelCase API name) replaced
 * by the label. `fields` maps the form's field names to their labels.
 */
export function plainMessage(message: string, fields: ReadonlyMap<string, string>): string {
  let text = message
  for (const [pattern, say] of PHRASES) {
    const match = pattern.exec(text)
    if (match) {
      text = say(...match.slice(1))
      break
    }
  }
  // Longest names first, so rounds.clientsPerRound goes whole before clientsPerRound would.
  const names = [...fields.keys()].sort((a, b) => b.length - a.length)
  for (const name of names) {
    const label = inSentence(fields.get(name)!)
    const last = name.split('.').pop()!
    const forms = [name, ...(/[A-Z]/.test(last) && last !== name ? [last] : [])]
    for (const form of forms)
      text = text.replace(
        new RegExp(`(?<![\\w.])${form.replaceAll('.', '\\.')}(?![\\w])`, 'g'),
        label,
      )
  }
  return text
}
