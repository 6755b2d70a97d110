// Triggers, rules and feeds through the client: CRUD, fires with 0, 1 and 3 active rules, a
// disabled rule, a rule to /whisk.system/utils/echo, and the alarms feed's CREATE/READ/DELETE.

import { ECHO, NS, assert, client, eventually, rejects, run, step } from './lib.mjs'

const ow = client()
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** The trigger activation's log lines, by rule, each with its action's record when it ran. */
async function ruleRuns (fireId) {
  const fired = await eventually(() => ow.activations.get({ name: fireId }))
  const runs = {}
  for (const line of fired.logs.map(l => JSON.parse(l))) {
    if (line.success) line.record = await eventually(() => ow.activations.get({ name: line.activationId }), 30000)
    runs[line.rule] = line
  }
  return { fired, runs }
}

run('triggers', async () => {
  step('triggers.create and get')
  const created = await ow.triggers.create({ name: 't', trigger: { parameters: [{ key: 'from', value: 'trigger' }] } })
  assert.equal(created.name, 't')
  assert.deepEqual((await ow.triggers.get({ name: 't' })).parameters, [{ key: 'from', value: 'trigger' }])
  assert.deepEqual((await ow.triggers.list()).map(t => t.name), ['t'])

  step('triggers.invoke with no rule: nothing to run (204)')
  const none = await ow.triggers.invoke({ name: 't', params: { x: 1 } })
  assert.ok(none === undefined || none === '' || Object.keys(none).length === 0, JSON.stringify(none))

  step('three actions and three rules, and a fourth rule disabled')
  for (const i of [0, 1, 2]) {
    await ow.actions.create({ name: `a${i}`, kind: 'python:3', action: ECHO })
    const rule = await ow.rules.create({ name: `r${i}`, action: `a${i}`, trigger: 't' })
    assert.equal(rule.status, 'active')
  }
  await ow.actions.create({ name: 'quiet', kind: 'python:3', action: ECHO })
  await ow.rules.create({ name: 'r_off', action: 'quiet', trigger: 't' })
  await ow.rules.disable({ name: 'r_off' })
  assert.equal((await ow.rules.get({ name: 'r_off' })).status, 'inactive')
  const withRules = await ow.triggers.get({ name: 't' })
  assert.deepEqual(Object.keys(withRules.rules).sort(), [`${NS}/r0`, `${NS}/r1`, `${NS}/r2`, `${NS}/r_off`])

  step('triggers.invoke: each active rule runs its action once with the merged parameters')
  const fired = await ow.triggers.invoke({ name: 't', params: { x: 1 } })
  assert.match(fired.activationId, /^[0-9a-f]{32}$/)
  const { runs } = await ruleRuns(fired.activationId)
  for (const i of [0, 1, 2]) {
    assert.deepEqual(runs[`${NS}/r${i}`].record.response.result, { from: 'trigger', x: 1 })
  }
  assert.equal(runs[`${NS}/r_off`].success, false)

  step('one active rule to /whisk.system/utils/echo')
  for (const i of [0, 1, 2]) await ow.rules.disable({ name: `r${i}` })
  await ow.rules.create({ name: 'r_echo', action: '/whisk.system/utils/echo', trigger: 't' })
  const once = await ow.triggers.invoke({ name: 't', params: { payload: 'hi' } })
  const echo = (await ruleRuns(once.activationId)).runs[`${NS}/r_echo`]
  assert.deepEqual(echo.record.response.result, { from: 'trigger', payload: 'hi' })

  step('rules.enable brings a rule back')
  await ow.rules.enable({ name: 'r0' })
  const again = await ow.triggers.invoke({ name: 't' })
  const back = (await ruleRuns(again.activationId)).runs
  assert.equal(back[`${NS}/r0`].success, true)
  assert.equal(back[`${NS}/r1`].success, false)

  step('namespaces.get lists the triggers and rules')
  const everything = await ow.namespaces.get()
  assert.deepEqual(everything.triggers.map(t => t.name), ['t'])
  assert.equal(everything.rules.length, 5)

  step('feeds.create of an alarms/once trigger, feeds.get (READ), feeds.delete')
  await ow.triggers.create({ name: 'soon', trigger: { annotations: [{ key: 'feed', value: '/whisk.system/alarms/once' }] } })
  const date = new Date(Date.now() + 3600 * 1000).toISOString()
  const feed = { name: '/whisk.system/alarms/once', trigger: 'soon' }
  const made = await ow.feeds.create({ ...feed, params: { date, trigger_payload: { hello: 'world' } } })
  assert.equal(made.response.success, true)
  const read = await ow.feeds.get(feed)
  assert.equal(read.response.result.config.date, date)
  assert.deepEqual(read.response.result.config.payload, { hello: 'world' })
  assert.equal(read.response.result.status.active, true)
  await ow.feeds.delete(feed)
  await rejects(ow.feeds.get(feed), 502)
  await ow.triggers.delete({ name: 'soon' })

  step('feeds.create with a bad cron is refused with the alarms package\'s text')
  await ow.triggers.create({ name: 'bad' })
  const refused = await rejects(ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'bad', params: { cron: 'nope' } }), 502)
  assert.equal(refused.error.response.result.error, "cron pattern 'nope' is not valid")

  step('an alarm every second fires the trigger, and stops after maxTriggers')
  await ow.actions.create({ name: 'tick', kind: 'python:3', action: ECHO })
  await ow.triggers.create({ name: 'ticks' })
  await ow.rules.create({ name: 'r_tick', action: 'tick', trigger: 'ticks' })
  await ow.feeds.create({ name: '/whisk.system/alarms/alarm', trigger: 'ticks', params: { cron: '* * * * * *', maxTriggers: 2, trigger_payload: { n: 1 } } })
  let ticks = []
  for (let i = 0; i < 40 && ticks.length < 2; i++) {
    await sleep(250)
    ticks = (await ow.activations.list({ name: 'tick', limit: 10 }))
  }
  await sleep(2000)
  ticks = await ow.activations.list({ name: 'tick', limit: 10 })
  const stopped = await ow.feeds.get({ name: '/whisk.system/alarms/alarm', trigger: 'ticks' })

  step('clean up')
  await ow.feeds.delete({ name: '/whisk.system/alarms/alarm', trigger: 'ticks' })
  for (const rule of await ow.rules.list()) await ow.rules.delete({ name: rule.name })
  for (const trigger of ['t', 'ticks', 'bad']) await ow.triggers.delete({ name: trigger })

  return {
    fireLogs: Object.keys(runs).length,
    ticks: ticks.length,
    tickStatus: stopped.response.result.status
  }
})
