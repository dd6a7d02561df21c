package allocator

import "math/rand/v2"

// Pick strategy shared by IPRange and PortRange. Values are addressed by index in
// [0, size); indexes below static form the lower (static) band.
//
// Within a band, a few uniform random probes come first: with a sparsely used range
// (the common case, and a /12 has about a million addresses) the first probe almost
// always succeeds, without ever building a list of free values. If every probe hits a
// used value the band is likely nearly full, so a scan starting at a random index and
// wrapping around visits each index once; that finds the last free value of a
// nearly-full band in one pass and proves a band full. kube-apiserver only does the
// scan part, which gives the same bands and the same "full" answers.

// probesPerBand bounds the random probes before a band is scanned. Bands this small
// or smaller are scanned directly.
const probesPerBand = 32

// pickIndex returns a free index from the upper band [static, size) if there is one,
// else from the lower band [0, static). It reports false when every index is used.
func pickIndex(rnd *rand.Rand, size, static int, inUse func(int) bool) (int, bool) {
	if i, ok := pickInBand(rnd, static, size, inUse); ok {
		return i, true
	}
	return pickInBand(rnd, 0, static, inUse)
}

// pickInBand returns a free index in [lo, hi).
func pickInBand(rnd *rand.Rand, lo, hi int, inUse func(int) bool) (int, bool) {
	n := hi - lo
	if n <= 0 {
		return 0, false
	}
	if n > probesPerBand {
		for range probesPerBand {
			if i := lo + intN(rnd, n); !inUse(i) {
				return i, true
			}
		}
	}
	start := intN(rnd, n)
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		if !inUse(lo + i) {
			return lo + i, true
		}
	}
	return 0, false
}

// intN returns a random int in [0, n) from rnd, or from math/rand/v2's shared source
// when rnd is nil.
func intN(rnd *rand.Rand, n int) int {
	if rnd == nil {
		return rand.IntN(n)
	}
	return rnd.IntN(n)
}

// rangeOffset is the size of the static band for a range of size values, following
// the KEP-3070/KEP-3668 formula min(max(floor, size/step), ceiling), with no split at
// all for ranges of floor values or fewer.
func rangeOffset(size, floor, step, ceiling int) int {
	if size <= floor {
		return 0
	}
	return min(max(floor, size/step), ceiling)
}
