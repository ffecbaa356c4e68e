/**
 * Go's float formatting and parsing and the math functions whose results differ between Go and JavaScript, as
 * Prometheus 2.42 built with Go 1.19 on amd64 has them: `math.Pow` and `math.Atan2` are Go's algorithms operation
 * for operation (Exp and Log as its assembly computes them), so that `^` and `atan2` give Prometheus's bits.
 */

/**
 * A sample value as Prometheus 2.42's JSON writes it (util/jsonutil MarshalValue): strconv.FormatFloat with 'e'
 * where 0 < |v| < 1e-6 or |v| ≥ 1e21, with 'f' elsewhere; "NaN", "+Inf", "-Inf".
 */
export function formatValue(v: number): string {
  const abs = Math.abs(v);
  if (Number.isFinite(v) && abs !== 0 && (abs < 1e-6 || abs >= 1e21)) return formatFloatE(v);
  return formatFloatF(v);
}

/** Go's strconv.FormatFloat(v, 'e', -1, 64): shortest digits, an exponent of two digits at least (1e-07, 1.5e+300). */
export function formatFloatE(v: number): string {
  if (!Number.isFinite(v)) return formatFloatF(v);
  if (v === 0) return Object.is(v, -0) ? '-0e+00' : '0e+00';
  const [mantissa, exp] = v.toExponential().split('e') as [string, string]; // shortest round-trip digits, as Go's
  const e = Number(exp);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as v, never an exponent. */
export function formatFloatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v); // shortest round-trip digits, as Go's
  const e = s.indexOf('e');
  if (e < 0) return s;
  const negative = s.startsWith('-');
  const mantissa = s.slice(negative ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exp; // digits before the decimal point
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return negative ? '-' + out : out;
}

/** A sample value as Prometheus's JSON writes it. */
export function parseSampleValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s); // "NaN" → NaN
}

const GO_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const GO_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/;

/** Go's strconv.ParseFloat(s, 64), or undefined where it returns an error (also on overflow). */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(?:inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  let v: number;
  if (GO_DECIMAL.test(s)) {
    v = Number(s);
  } else {
    const m = GO_HEX.exec(s);
    if (m === null || m[2]! + (m[3] ?? '') === '') return undefined;
    const frac = m[3] ?? '';
    v = (parseInt(m[2]! + frac || '0', 16) / 16 ** frac.length) * 2 ** Number(m[4]);
    if (m[1] === '-') v = -v;
  }
  return Number.isFinite(v) ? v : undefined;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: [low, high]

/** Go's math.Frexp: x = frac × 2^exp with |frac| in [0.5, 1). */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let extra = 0;
  if (Math.abs(x) < 2 ** -1022) {
    x *= 2 ** 52; // subnormal: normalize first
    extra = -52;
  }
  f64[0] = x;
  const hi = u32[1]!;
  const exp = ((hi >>> 20) & 0x7ff) - 1022 + extra;
  u32[1] = (hi & 0x800fffff) | (1022 << 20);
  return [f64[0], exp];
}

/** Go's math.Ldexp: frac × 2^exp, rounded once also when the result is subnormal. */
function ldexp(frac: number, exp: number): number {
  if (frac === 0 || !Number.isFinite(frac)) return frac;
  const [f, e] = frexp(frac);
  const unbiased = e + exp - 1; // the exponent of 2f, which lies in [1, 2)
  if (unbiased < -1075) return frac < 0 ? -0 : 0;
  if (unbiased > 1023) return frac < 0 ? -Infinity : Infinity;
  if (unbiased < -1022) return 2 * f * 2 ** (unbiased + 53) * 2 ** -53;
  return 2 * f * 2 ** unbiased;
}

/** a·b + c rounded once, as the FMA instructions compute it (exact through BigInt; normal results only). */
function fusedMultiplyAdd(a: number, b: number, c: number): number {
  if (a === 0 || b === 0 || c === 0 || !Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c)) return a * b + c;
  const parts = (x: number): [bigint, number] => {
    const [f, e] = frexp(x);
    return [BigInt(f * 2 ** 53), e - 53];
  };
  const [ma, ea] = parts(a);
  const [mb, eb] = parts(b);
  const [mc, ec] = parts(c);
  const ep = ea + eb;
  const e0 = Math.min(ep, ec);
  const sum = ((ma * mb) << BigInt(ep - e0)) + (mc << BigInt(ec - e0));
  const negative = sum < 0n;
  let magnitude = negative ? -sum : sum;
  // Keep 1000 bits and a sticky bit for what is dropped, so that Number() rounds once and right.
  const shift = Math.max(0, magnitude.toString(2).length - 1000);
  if (shift > 0) {
    const kept = magnitude >> BigInt(shift);
    magnitude = (kept << BigInt(shift)) === magnitude ? kept : kept | 1n;
  }
  const rounded = ldexp(Number(magnitude), e0 + shift);
  return negative ? -rounded : rounded;
}

/**
 * Go 1.19's math.Exp on amd64 (exp_amd64.s): a Taylor series on the argument reduced by ln 2 and divided by 16,
 * then squared back four times; with FMA instructions where the CPU has them (any x86-64 from 2013 on), as
 * assumed here.
 */
function goExp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === -Infinity) return 0;
  if (x > 7.09782712893384e2) return Infinity;
  const scaled = x * 1.442695040888963407359924681001892;
  // CVTSD2SL: round half to even; out of int32 range gives the "integer indefinite" -2^31.
  let k = Math.abs(scaled) >= 2 ** 31 ? -(2 ** 31) : Math.round(scaled);
  if (Math.abs(scaled % 1) === 0.5 && k % 2 !== 0) k -= Math.sign(scaled); // Math.round rounds halves up
  let r = fusedMultiplyAdd(-k, 0.69314718055966295651160180568695068359375, x);
  r = fusedMultiplyAdd(-k, 0.28235290563031577122588448175013436025525412068e-12, r);
  r *= 0.0625;
  const coefficients = [1.9841269841269841270e-4, 1.3888888888888888889e-3, 8.3333333333333333333e-3, 4.1666666666666666667e-2, 1.6666666666666666667e-1, 0.5, 1.0];
  let p = 2.4801587301587301587e-5;
  for (const c of coefficients) p = fusedMultiplyAdd(p, r, c);
  r *= p;
  r *= r + 2;
  r *= r + 2;
  r *= r + 2;
  r = fusedMultiplyAdd(r, r + 2, 1);
  const biased = k + 0x3ff;
  if (biased <= 0) {
    if (biased < -52) return 0;
    return r * 2 ** (biased + 0x3fe - 1023) * 2 ** -1022;
  }
  if (biased >= 0x7ff) return Infinity;
  return r * 2 ** k;
}

/** Go 1.19's math.Log on amd64 (log_amd64.s), operation for operation (its Frexp does not normalize subnormals). */
function goLog(x: number): number {
  if (x === 0) return -Infinity;
  f64[0] = x;
  const hi = u32[1]!;
  if (hi >>> 31 === 1) return NaN;
  if (x === Infinity || Number.isNaN(x)) return x;
  let k = ((hi >>> 20) & 0x7ff) - 0x3fe;
  u32[1] = (hi & 0x000fffff) | 0x3fe00000;
  let f1 = f64[0];
  if (!(0.707106781186547524401 < f1)) {
    k -= 1;
    f1 *= 2;
  }
  const f = f1 - 1;
  const s = f / (2 + f);
  const s2 = s * s;
  const s4 = s2 * s2;
  const t1 = s2 * ((((1.479819860511658591e-1 * s4 + 1.818357216161805012e-1) * s4 + 2.857142874366239149e-1) * s4) + 6.666666666666735130e-1);
  const t2 = s4 * ((1.531383769920937332e-1 * s4 + 2.222219843214978396e-1) * s4 + 3.999999999940941908e-1);
  const R = t1 + t2;
  const hfsq = 0.5 * f * f;
  return k * 6.93147180369123816490e-1 - (hfsq - (s * (hfsq + R) + k * 1.90821492927058770002e-10) - f);
}

const isOddInt = (y: number): boolean => Number.isInteger(y) && Math.abs(y) < 2 ** 53 && Math.abs(y % 2) === 1;

/**
 * Go's math.Pow (pow.go): its special cases (Pow(1, NaN) = 1, Pow(-1, ±Inf) = 1, unlike JavaScript) and its
 * algorithm: successive squarings for the integer part of y, Exp(yf·Log(x)) with Go's amd64 Exp and Log for the
 * fractional part.
 */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (y === 1) return x;
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x === 0) {
    if (y < 0) return isOddInt(y) ? (Object.is(x, -0) ? -Infinity : Infinity) : Infinity;
    return isOddInt(y) ? x : 0;
  }
  if (!Number.isFinite(y)) {
    if (x === -1) return 1;
    return (Math.abs(x) < 1) === (y > 0) ? 0 : Infinity;
  }
  if (!Number.isFinite(x)) {
    if (x < 0) return goPow(1 / x, -y); // Pow(-0, -y)
    return y < 0 ? 0 : Infinity;
  }
  if (y === 0.5) return Math.sqrt(x);
  if (y === -0.5) return 1 / Math.sqrt(x);
  let yi = Math.trunc(Math.abs(y));
  let yf = Math.abs(y) - yi;
  if (yf !== 0 && x < 0) return NaN;
  if (yi >= 2 ** 63) {
    if (x === -1) return 1;
    return (Math.abs(x) < 1) === (y > 0) ? 0 : Infinity;
  }
  let a1 = 1;
  let ae = 0;
  if (yf !== 0) {
    if (yf > 0.5) {
      yf--;
      yi++;
    }
    a1 = goExp(yf * goLog(x));
  }
  let [x1, xe] = frexp(x);
  for (let i = BigInt(yi); i !== 0n; i >>= 1n) {
    if (xe < -(1 << 12) || 1 << 12 < xe) {
      ae += xe;
      break;
    }
    if ((i & 1n) === 1n) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe *= 2;
    if (x1 < 0.5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  return ldexp(a1, ae);
}

/** Go's math.Atan (Cephes, atan.go): pure Go on amd64, reproduced operation for operation. */
function goAtan(x: number): number {
  const xatan = (v: number): number => {
    const z = v * v;
    const p = ((((-8.750608600031904122785e-1 * z + -1.615753718733365076637e1) * z + -7.500855792314704667340e1) * z + -1.228866684490136173410e2) * z + -6.485021904942025371773e1);
    const q = (((((z + 2.485846490142306297962e1) * z + 1.650270098316988542046e2) * z + 4.328810604912902668951e2) * z + 4.853903996359136964868e2) * z + 1.945506571482613964425e2);
    return v * ((z * p) / q) + v;
  };
  const satan = (v: number): number => {
    const moreBits = 6.123233995736765886130e-17;
    if (v <= 0.66) return xatan(v);
    if (v > 2.41421356237309504880) return Math.PI / 2 - xatan(1 / v) + moreBits;
    return Math.PI / 4 + xatan((v - 1) / (v + 1)) + 0.5 * moreBits;
  };
  if (x === 0) return x;
  return x > 0 ? satan(x) : -satan(-x);
}

const copysign = (v: number, sign: number): number => (sign < 0 || Object.is(sign, -0) ? -Math.abs(v) : Math.abs(v));

/** Go's math.Atan2 (atan2.go). */
export function goAtan2(y: number, x: number): number {
  if (Number.isNaN(y) || Number.isNaN(x)) return NaN;
  if (y === 0) return x >= 0 && !Object.is(x, -0) ? copysign(0, y) : copysign(Math.PI, y);
  if (x === 0) return copysign(Math.PI / 2, y);
  if (!Number.isFinite(x)) {
    if (x > 0) return copysign(Number.isFinite(y) ? 0 : Math.PI / 4, y);
    return copysign(Number.isFinite(y) ? Math.PI : (3 * Math.PI) / 4, y);
  }
  if (!Number.isFinite(y)) return copysign(Math.PI / 2, y);
  const q = goAtan(y / x);
  if (x < 0) return q <= 0 ? q + Math.PI : q - Math.PI;
  return q;
}
