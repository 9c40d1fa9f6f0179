import { describe, expect, it } from 'vitest'
import { parseSimOptions } from './options.ts'

describe('npm run sim options', () => {
  it('defaults to 10 devices on the built-in MNIST, IID', () => {
    const o = parseSimOptions([])
    expect(o).toMatchObject({ clients: 10, dataset: 'mnist', from: [], shards: { kind: 'iid' } })
    expect(o).toMatchObject({ slow: 0, drop: 0, seed: 1, codecs: ['float32'], help: false })
  })

  it('takes the codecs devices upload in, one or a list', () => {
    expect(parseSimOptions(['--codec', 'int8']).codecs).toEqual(['int8'])
    expect(parseSimOptions(['--codec', 'int8, bbit1,topk']).codecs).toEqual([
      'int8',
      'bbit1',
      'topk',
    ])
  })

  it('takes a dataset with every file after --from, and how to shard it', () => {
    const o = parseSimOptions([
      '--dataset',
      'fashion.v2',
      '--from',
      'train-images.gz',
      'train-labels.gz',
      '--shards',
      'dirichlet:0.5',
      '--clients',
      '20',
      '--server',
      'http://127.0.0.1:9/',
    ])
    expect(o).toMatchObject({
      dataset: 'fashion.v2',
      from: ['train-images.gz', 'train-labels.gz'],
      shards: { kind: 'dirichlet', alpha: 0.5 },
      clients: 20,
      server: 'http://127.0.0.1:9',
    })
    expect(parseSimOptions(['--shards', 'classes:2']).shards).toEqual({
      kind: 'classes',
      perDevice: 2,
    })
  })

  it('keeps --partition iid|noniid (noniid: two classes per device)', () => {
    expect(parseSimOptions(['--partition', 'noniid']).shards).toEqual({
      kind: 'classes',
      perDevice: 2,
    })
    expect(parseSimOptions(['--partition', 'iid']).shards).toEqual({ kind: 'iid' })
  })

  it.each([
    [['--clients', '0'], '--clients must be a whole number from 1 to 1000, got 0'],
    [['--clients', '1001'], '--clients must be a whole number from 1 to 1000'],
    [['--clients', ''], '--clients must be a whole number from 1 to 1000'],
    [['--seed', '4294967296'], '--seed must be a whole number from 0 to 4294967295'],
    [['--slow', '1.5'], '--slow must be a fraction between 0 and 1, got 1.5'],
    [['--drop', ''], '--drop must be a fraction between 0 and 1'],
    [['--partition', 'weird'], '--partition must be iid or noniid, got weird'],
    [
      ['--shards', 'classes:0'],
      "--shards must be iid, classes:N (N = 1..256) or dirichlet:α (α = 0.001..1000), got 'classes:0'",
    ],
    [['--shards', 'iid', '--partition', 'iid'], 'give --shards or --partition, not both'],
    [['--server', 'ftp://x'], "--server must be an http(s) URL, got 'ftp://x'"],
    [['--server', 'not a url'], "--server must be an http(s) URL, got 'not a url'"],
    [['--dataset', '../etc'], "--dataset must be a dataset's name"],
    [['--dataset', 'crops'], '--dataset crops needs --from FILE… (its examples)'],
    [['--dataset', 'crops', '--from'], '--from must name 1 to 16 files or one folder, got 0'],
    [
      ['--dataset', 'crops', '--from', ...Array.from({ length: 17 }, (_, i) => `f${i}`)],
      '--from must name 1 to 16 files',
    ],
    [['--from', 'a', '--from', 'b'], '--from may be given once, with all its files'],
    [
      ['--codec', 'int4'],
      "--codec must name codecs among float32, float16, int8, bbit1, bbit2, bbit3, bbit4, topk, got 'int4'",
    ],
    [['--codec', ''], '--codec must name codecs among'],
    [['--codec', 'int8,'], "got ''"],
    [['--codec', 'int8,int8'], "--codec names a codec twice: 'int8,int8'"],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('refuses %j', (args, message) => {
    expect(() => parseSimOptions(args)).toThrow(message)
  })
})
