import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dir, '../../..')
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

/** GitHub's anchor of a heading: lower case, punctuation dropped (not `-` or `_`), spaces to `-`. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

const anchors = (file: string) => {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)))
}

describe('README and docs/', () => {
  test('every relative link (pages, screenshots, anchors) leads somewhere', () => {
    const broken: string[] = []
    for (const page of PAGES) {
      const text = readFileSync(path.join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '')
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue
        const [file, anchor] = target!.split('#') as [string, string | undefined]
        const resolved = file ? path.posix.normalize(path.posix.join(path.posix.dirname(page), file)) : page
        if (!existsSync(path.join(ROOT, resolved))) broken.push(`${page} → ${target}`)
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${page} → ${target} (no such heading)`)
      }
    }
    expect(broken).toEqual([])
  })

  test('the README stays the newcomer’s path: the two commands near the top, a Guides list', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const head = readme.split('\n').slice(0, 30).join('\n')
    expect(head).toContain('npm i -g bun')
    expect(head).toContain('bun install && bun run start')
    expect(head).toContain('bun run test')
    expect(readme).toMatch(/^## Guides$/m)
  })
})
