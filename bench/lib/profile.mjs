/** Placeholder until written. */
export async function profileDl() {
  return [];
}
