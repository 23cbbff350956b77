import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import path from 'node:path'

const ROOT = path.resolve(import.meta.dir, '../../..')

describe('deployment files', () => {
  test('docker-compose.yml runs the app on postgres:17 with a volume and a healthcheck it waits for', () => {
    const compose = Bun.YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as any
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'db'])
    const { db, app } = compose.services
    expect(db.image).toBe('postgres:17')
    expect(db.healthcheck.test.join(' ')).toContain('pg_isready')
    expect(db.volumes[0]).toStartWith('pgdata:/var/lib/postgresql/data')
    expect(Object.keys(compose.volumes)).toContain('pgdata')
    expect(app.depends_on.db.condition).toBe('service_healthy')
    expect(app.environment.DATABASE_URL).toContain('@db:5432/')
    expect(app.ports).toContain('3000:3000')
  })

  test('docker-compose.yml passes every variable a platform needs, in production mode, secrets from the environment only', () => {
    const { app } = (Bun.YAML.parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as any).services
    const env = app.environment as Record<string, string>
    expect(env.NODE_ENV).toBe('production')
    for (const v of [
      'ADMIN_TOKEN',
      'ENCRYPTION_KEY',
      'ENCRYPTION_KEYS_PREVIOUS',
      'PLATFORM_SECRET',
      'PLATFORM_SECRETS_PREVIOUS',
      'PUBLIC_URL',
      'MANAGER_BOT_TOKEN',
      'TELEGRAM_MODE',
      'FRAME_ANCESTORS',
      'SEED_DEMO',
    ])
      expect(env[v], v).toStartWith(`\${${v}:`)
    // the two without which production refuses to start are required, not defaulted
    expect(env.ADMIN_TOKEN).toStartWith('${ADMIN_TOKEN:?')
    expect(env.ENCRYPTION_KEY).toStartWith('${ENCRYPTION_KEY:?')
  })

  test('the Dockerfile builds on Bun, installs production dependencies only and runs as a non-root user', () => {
    const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    expect(text).toMatch(/^FROM oven\/bun:1/m)
    expect(text).toContain('--production')
    expect(text).toMatch(/^USER (?!root)\w+/m)
    expect(text).toMatch(/^EXPOSE 3000$/m)
    expect(text).toMatch(/^CMD \["bun", "api\/src\/main\.ts"\]$/m)
    expect(text).toContain('HEALTHCHECK')
  })
})
