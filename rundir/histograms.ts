import * as hdr from 'hdr-histogram-js';

/** Exact merge of HDR histograms (counts per bucket add up): percentiles of the merge, never averages of percentiles. */
export function mergeHistograms(encoded: Array<string | undefined>): hdr.Histogram {
  const merged = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const e of encoded) {
    if (!e) continue;
    const h = hdr.decodeFromCompressedBase64(e);
    merged.add(h);
    h.destroy();
  }
  return merged;
}
