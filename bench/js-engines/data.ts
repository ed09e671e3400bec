/** The probe's input, generated exactly as jvm/js-engine-probe's Probe.line/key do (checksums must agree). */
const SYLLABLES = ['fl', 'ink', 'ka', 'fka', 'str', 'eam', 'ch', 'eck', 'po', 'int', 'sa', 've'];
const VOCABULARY = 2000;

const word = (j: number) => SYLLABLES[j % 12] + SYLLABLES[Math.floor(j / 12) % 12] + (j >= 144 ? SYLLABLES[Math.floor(j / 144) % 12] : '');

export function line(i: number): string {
  let b = '';
  for (let k = 0; k < 10; k++) {
    let w = word((i * 7 + k * 13 + (i % 97) * k) % VOCABULARY);
    if (k === 0) w = w[0].toUpperCase() + w.slice(1);
    b += w + (k === 9 ? '.' : k === 4 ? ', ' : ' ');
  }
  return b;
}

export const key = (i: number, keys: number) => `user-${(i * 7919) % keys}`;
