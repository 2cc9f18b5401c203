/**
 * PURE: MQTT topic names and filters.
 *
 * Two matchers, on purpose:
 * - `topicMatches(filter, topic)` is MQTT routing (spec 4.7): a filter
 *   starting with `+` or `#` never matches a topic starting with `$`.
 * - `levelsMatch(filter, topic)` is EMQX's authorization matching: level
 *   lists compared as `emqx_topic:match/2` does on words, where the `$` rule
 *   does not apply (EMQX's authz passes words, and the `$` guard only exists
 *   for binaries), and where the "topic" may itself be a subscribe filter
 *   whose `+`/`#` are compared as plain levels (`a/#` covers a request `a/+`).
 */

/** MQTT limit on a topic's encoded length. */
export const MAX_TOPIC_BYTES = 65_535;

/** `$share/<group>/<filter>` or `$queue/<filter>` → the filter and group; anything else unchanged. */
export function realTopic(filter: string): { readonly topic: string; readonly group?: string } {
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    if (slash > 7) return { topic: filter.slice(slash + 1), group: filter.slice(7, slash) };
    return { topic: filter };
  }
  if (filter.startsWith('$queue/')) return { topic: filter.slice(7), group: '$queue' };
  return { topic: filter };
}

/** Why `filter` is not a valid MQTT topic filter, or undefined when it is. */
export function topicFilterProblem(filter: string): string | undefined {
  const basic = basicProblem(filter);
  if (basic) return basic;
  if (filter.startsWith('$share/') || filter.startsWith('$queue/')) {
    const { topic, group } = realTopic(filter);
    if (group === undefined) return 'a shared subscription needs a group: $share/<group>/<filter>';
    if (group.includes('+') || group.includes('#')) return 'a share group cannot contain + or #';
    if (topic === '') return 'a shared subscription needs a filter after the group';
    if (topic.startsWith('$share/') || topic.startsWith('$queue/')) return 'shared subscriptions cannot be nested';
    return levelsProblem(topic.split('/'));
  }
  return levelsProblem(filter.split('/'));
}

/** Why `name` is not a valid topic name (publish topic), or undefined when it is. */
export function topicNameProblem(name: string): string | undefined {
  const basic = basicProblem(name);
  if (basic) return basic;
  if (name.includes('+') || name.includes('#')) return 'a topic name cannot contain the wildcards + or #';
  return undefined;
}

export const isValidTopicFilter = (filter: string): boolean => topicFilterProblem(filter) === undefined;
export const isValidTopicName = (name: string): boolean => topicNameProblem(name) === undefined;

function basicProblem(t: string): string | undefined {
  if (t.length === 0) return 'a topic cannot be empty';
  if (t.includes('\u0000')) return 'a topic cannot contain the NUL character';
  if (Buffer.byteLength(t, 'utf8') > MAX_TOPIC_BYTES) return `a topic cannot be longer than ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

function levelsProblem(levels: readonly string[]): string | undefined {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level === '#') {
      if (i !== levels.length - 1) return '# must be the last level';
    } else if (level === '+') {
      continue;
    } else if (level.includes('#') || level.includes('+')) {
      return `the wildcards + and # must fill a whole level ("${level}")`;
    }
  }
  return undefined;
}

/**
 * EMQX `emqx_topic:match(Words, FilterWords)`: `+` matches exactly one level,
 * a final `#` matches the rest (zero or more levels), other levels compare
 * as strings (so a `+` or `#` in `topic` is an ordinary level). No `$` rule.
 */
export function levelsMatch(filter: readonly string[], topic: readonly string[]): boolean {
  const n = filter.length;
  for (let i = 0; ; i++) {
    if (i === n) return i === topic.length;
    const f = filter[i] as string;
    if (f === '#' && i === n - 1) return true;
    if (i === topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
}

/**
 * MQTT routing: does `filter` (optionally `$share/g/…`) match the topic name
 * `topic`? A filter starting with `+` or `#` does not match a `$` topic.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const real = realTopic(filter).topic;
  if (topic.startsWith('$') && (real.startsWith('+') || real.startsWith('#'))) return false;
  return levelsMatch(real.split('/'), topic.split('/'));
}
