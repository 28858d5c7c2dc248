/** S1: placeholder until written. */
export async function runServeBench() {
  return {
    id: 'S1',
    title: 'streamer through dl serve',
    skipped: 'not written yet',
    rows: [],
    goals: [],
    notes: [],
  };
}
