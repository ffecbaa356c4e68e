/**
 * Prometheus relabel regexes: Go RE2 syntax and semantics, in JavaScript.
 *
 * Prometheus 2.42 compiles every relabel regex as `^(?:<regex>)$` with Go's regexp package (through
 * grafana/regexp, a faster fork with the same semantics) built with Go 1.19, so: the match is always
 * anchored at both ends, `.` does not match "\n" (2.42 has no implicit `(?s)`; that came with 3.0),
 * character classes are sets of Unicode code points from Go 1.19's tables (Unicode 13.0.0), and
 * submatches follow RE2's leftmost-first rules. This module reproduces that in three layers:
 *
 * 1. Syntax. The pattern is checked by `re2js` (a port of RE2/J and of Go's regexp/syntax), so the set of
 *    accepted patterns and the error messages are RE2's. Where re2js 2.10 and Go 1.19 disagree, a small
 *    Go-faithful scanner in this file corrects it: Go 1.19 rejects `(?<name>…)` ("invalid or unsupported
 *    Perl syntax: `(?<`"), accepts duplicate group names (re2js rejects them), knows only Unicode 13's
 *    class names (re2js also knows e.g. `\p{Kawi}`, `\p{Cn}`, `\p{Assigned}`), and reads `[[:]` as a
 *    literal `[` (re2js reads `[:]` as a bad POSIX class). The first Go-only error is found by replacing
 *    its token with a marker that re2js rejects at the same spot: if re2js stops at the marker, Go's
 *    message is reported; if it stops earlier, its own (Go-identical) message is.
 *
 * 2. Fast paths that need no regex engine at all, recognised on the parsed pattern: a pure literal
 *    (string equality), an alternation of literals (a Set), and `prefix(.*)suffix` / `prefix(.+)suffix`
 *    with or without the group, which covers the default `(.*)` and typical `__meta_..._(.+)` rules.
 *
 * 3. A translation of the parsed pattern to a native JS `RegExp` (flag `u`, so `.` and classes consume whole
 *    code points), emitted from the parse tree rather than from the text: every class becomes an explicit
 *    list of code-point ranges taken from Go's tables (so `\s` is `[\t\n\f\r ]`, `\pL` is Unicode 13's
 *    letters, POSIX classes are ASCII), `.` is `[^\n]`, `\A`/`\z` are `^`/`$`, `(?m)` anchors are
 *    lookarounds, `(?U)` swaps greediness, `(?i)` is applied by expanding ASCII letters to their Go case
 *    folding orbits (k also matches U+212A KELVIN SIGN, s also matches U+017F LONG S); the JS `i` flag is
 *    never used. The translation is used only when a backtracking engine provably returns what RE2 returns,
 *    and the pattern falls back to re2js (linear time) otherwise:
 *      - a repeated group (max > 1) whose body is not a plain sequence of single characters: captures inside
 *        it (JS resets them on every iteration, RE2 keeps the last value set), nested quantifiers or
 *        alternations (exponential backtracking), empty-width assertions;
 *      - a repeated or optional part that can match the empty string (JS and RE2 treat empty iterations
 *        differently);
 *      - case-insensitive literals or class ranges outside ASCII (their fold orbits would need Go's tables;
 *        `\p` classes under `(?i)` are exact, from Go's FoldCategory/FoldScript tables);
 *      - too many choice points: the backtracking bound B·(n+1)^U (B = product of alternation and bounded
 *        repetition choices, U = unbounded repetitions, n = input length) must stay under 10^7, so a
 *        pattern with U ≥ 2 uses re2js for inputs longer than the bound allows;
 *      - anything the scanner does not understand, and any exception of the JS engine at match time.
 *    Each of these is checked by the property test in test/prom/regex.test.ts, which compares the fast
 *    path with the re2js-only path (`Re2Regex.compile(p, { engine: 're2js' })`) on random patterns.
 *
 * Unicode classes given to re2js are also rewritten into explicit Go 1.19 ranges, so both engines agree
 * with Go; under `(?i)` re2js folds those (already fold-closed) ranges again with its own tables, which can
 * only add code points assigned after Unicode 13. Known remaining difference: case folding of non-ASCII
 * literals under `(?i)` uses re2js's (newer) fold orbits.
 *
 * A pattern may also contain a `)` that closes Prometheus's wrapper early (`a)|(b` is `^(?:a)|(b)$`); Go then
 * searches for it anywhere in the value. `exec`, `test` and `replaceAll` follow Go there too (`wrapped`).
 */
import { RE2JS } from 're2js';

const MAX_RUNE = 0x10ffff;

// ---------------------------------------------------------------------------------------------------------
// Go 1.19 Unicode tables (Unicode 13.0.0): unicode.Categories (two-letter ones; one-letter ones are their
// unions) and unicode.Scripts. Encoding: per table, comma-separated ranges; each is the base-36 distance
// from the previous range's end, then "+" and the base-36 length minus one when longer than one.
// Generated from Go 1.19.8's unicode package.
// ---------------------------------------------------------------------------------------------------------
const GO_CATEGORIES =
  "Cc:0+v,2o+w;Cf:4t,11v+5,n,5d,1e,cz,2zw,1kt+4,r+4,1e+4,2+9,17yo,6y+2,3b6,g,6zn+8,qy0+3,440+7,h407,v+2n;Co:188w+" +
  "4xr,jpc1+1ekd,3+1ekd;Cs:16o0+1kv;Ll:2p+p,1n,16+n,2+7,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+1" +
  ",2,2,2,2,2,2,2,2+1,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,2,2+2,3,2,3,4+1,5,3,4+2,3,3,2,2,3,2+1,2,3,4" +
  ",2,3+1,3+2,7,3,3,2,2,2,2,2,2,2,2+1,2,2,2,2,2,2,2,2,2+1,3,2,4,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2+6,3,3+1,2,5,2,2,2,2+1w,2+q,5e,2,4,4+2,j,s+y,2+1,4+2,2,2,2,2,2,2,2,2,2,2,2,2+4,2,3,3+1,1g+1b,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,a,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,2,2,2,2,2,2+1,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,1d+14,288+16,3+2,l5+5,1oj+8,3" +
  "c+17,1s+c,2+x,2v,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+8,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+8,9+5,b+7,9+7,9+5,b+7,9+7,9+d,3+7,9+7,9+7,9+4,2+1,7,4+2,2+1,9+3,3" +
  "+1,9+7,b+2,2+1,7n,4+1,4,s,5,5,3+1,9+3,5,1i,23w+1a,3,4+1,2,2,2,5,2+1,2+5,6,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+1,8,2,5,d+11,2,6,nx0,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,k,2,2,2,2,2,2,2,2,2,2,2,2,2,3s,2,2,2,2,2,2+2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2+7,2,2,3,2,2,2,2,5,2,3,2+2,2,2,2,2,2,2,2,2,2,2,6,6,2,2,2,2,2,4,5,2,18,4,mu+16,6+8,8+27,fnl+6,d+" +
  "4,tm+p,y6+13,3t+z,1j9+1e,2by+v,gw1+v,k2j+p,r+6,2+h,r+p,r+3,2,2+6,2+a,r+p,r+p,r+p,r+p,r+p,r+p,r+p,r+p,r+r,t+o,2" +
  "+5,r+o,2+5,r+o,2+5,r+o,2+5,r+o,2+5,2,3fb+x;Lm:j4+h,5+b,f+4,8,2,3q,6,db,6f,4l+1,7i+1,5,w,a,4,95,yd,3k,fq,1cr,30" +
  ",h0,cx+5,4v+1q,e,z+10,j6,e,h+c,2cg+1,6q,5c,d2,18+4,6,2q+1,2m+2,lxz,yr+5,7j,37,t+1,3e+8,29,o,34+1,d2,n,3u,31,m+" +
  "1,2w+3,a,glj,1a+1,l9d+3,uo+c,1t+1,2,mdw+6,1la;Lo:4q,g,75,5+3,5t,n0+q,5+3,1a+v,2+9,10+1,2+2q,2,p+1,b+2,3,h,2+t," +
  "u+2g,c,p+w,m+l,17+o,8+a,1i+k,2+h,1p+1h,4,j,8+9,h+e,5+7,3+1,3+l,2+6,2,4+3,4,h,e+1,2+2,f+1,b,9+5,5+1,3+l,2+6,2+1" +
  ",2+1,2+1,w+3,2,k+2,h+8,2+2,2+l,2+6,2+1,2+4,4,j,g+1,o,c+7,3+1,3+l,2+6,2+1,2+4,4,v+1,2+2,g,i,2+5,4+2,2+3,4+1,2,2" +
  "+1,4+1,4+2,4+b,n,1h+7,2+2,2+m,2+f,4,r+2,6+1,v,5+7,2+2,2+m,2+9,2+4,4,x,2+1,g+1,i+8,2+2,2+14,3,h,6+2,9+2,p+5,6+h" +
  ",4+n,2+8,2,3+6,1n+1b,2+1,d+5,1o+1,2,2+4,2+n,2,2+9,2+1,a,3+4,o+3,x,1s+7,2+z,s+4,38+16,l,h+5,5+3,4,4+1,8+2,5+c,d" +
  ",36+94,2+3,3+6,2,2+3,3+14,2+3,3+w,2+3,3+6,2,2+3,3+e,2+1k,2+3,3+1u,12+f,36+h7,3+g,2+p,6+22,7+7,8+c,2+3,f+h,f+h," +
  "f+c,2+2,g+1f,15,1w+y,2+1g,8+4,3+x,2,6+1x,b+u,1e+t,3+4,c+17,5+p,1j+m,a+1g,4x+1a,i+6,1k+t,e+1,b+17,r+z,16+2,b+t," +
  "36+3,2+5,2+1,4,u3+3,2d4+1j,p+m,a+6,2+6,2+6,2+6,2+6,2+6,2+6,2+6,fc,1i,5+2d,9,2+2h,5,6+16,2+2l,i+v,1d+f,e9+533,1" +
  "t+g70,4+k,2+vq,1w+13,9+7f,5+f,b+1,1v,1e+1x,4q,2w,4+6,2+2,2+3,2+m,u+1f,f+1d,1r+5,4,2+1,c+r,b+m,q+s,8+1a,1a+4,3+" +
  "8,b+4,2+14,o+2,2+7,l+f,2+5,4,4+1d,2,4+1,3+4,3,2,p+1,4+a,8,f+5,3+5,3+5,a+6,2+6,42+y,u+8mb,d+m,5+1c,6it+a5,3+2x," +
  "1w,2+9,2+c,2+4,2,2+1,2+1,2+2z,y+a2,j+1r,3+1h,15+b,39+4,2+3q,2y+9,2+18,3+u,4+5,3+5,3+5,3+2,10+b,2+p,2+i,2+1,2+e" +
  ",3+d,z+3e,au+s,4+1c,1c+v,e+j,2+7,7+11,b+t,3+z,5+7,3l+25,2r+13,9+1f,4d+8m,a+l,b+7,49+5,3,2+17,2+1,4,3+m,b+m,a+u" +
  ",1u+i,2+1,b+l,b+p,1z+1j,7+1,1t,g+3,2+2,2+s,17+s,4+s,10+7,2+r,s+1h,b+l,b+i,e+h,33+20,54+z,9p+15,7+1,27+s,b,9+l," +
  "2z+k,s+m,d+1g,24+18,x+o,r+z,u,3,9+y,4,d+1b,f+3,m,2,10+h,2+o,2d+6,2,2+3,2+e,2+9,8+1a,13+7,3+1,3+l,2+6,2+1,2+4,4" +
  ",j,d+4,4f+1g,j+3,l+2,v+1b,l+1,2,55+1a,16+3,11+1b,l,1o+16,e,20+q,6e+17,5w+7,3,3+7,2+1,2+n,g,2,2n+7,3+12,h,2,t,b" +
  "+13,8,m,c+19,k,z+1k,7c+8,2+10,i,1e+t,35+6,2+1,2+11,m,q+5,2+1,2+v,f,94+i,5a,28+pl,6f+5f,24d+tq,34i+g6,6nu+fs,8+" +
  "u,36+t,j+1b,1g+k,6+i,oh+22,6,4w+4qf,9+yd,17+8,6wo+7y,1e+2,i+3,9+az,1s5+2y,6+c,4+8,8+9,76v+18,y,aa+17,105+5g,11" +
  "8+3,2+q,2+1,2,3,2+9,2+3,2,2,7,5,2,2,2+2,2+1,2,3,2,2,2,2,2+1,2,3+3,2+6,2+3,2+3,2,2+9,2+g,6+2,2+4,2+g,3et+wyl,z+" +
  "378,c+65,3+4g1,f+5rk,2e8+f1,15v+3t6;Lt:cl,3,3,13,5ue+7,9+7,9+7,d,g,1c;Lu:1t+p,2u+m,2+6,y,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+1,2,2,4+1,2,2" +
  "+1,2+2,3+3,2+1,2+2,4+1,2+1,2,2,2+1,2,3,2+1,2+2,2,2+1,4,8,3,3,3,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,3,3,2+2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,8+1,2+1,3,2+3,2,2,2,2,82,2,4,9,7,2+2,2,2+1,2+g,2+8,10,3+2,4" +
  ",2,2,2,2,2,2,2,2,2,2,2,6,3,2+1,3+1e,1d,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,a,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2+1,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,3+11,28a+11,2,6,k3+2d,1p7+16,3+2,8x,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,a,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,a+7,9+5,b+7,9+7,9+5,c,2,2,2,9+7" +
  ",21+3,d+3,d+3,d+4,c+3,7b,5,4+2,3+2,3,4+4,7,2,2,2+3,3+3,b+1,6,1q,22l+1a,1e,2+2,3,2,2,2+3,2,3,9+2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,9,2,5,nym,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,k,2,2,2,2,2,2,2,2,2,2,2,2,2,3s,2,2,2,2,2,2,4,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,b,2,2+1,2,2,2,2,5,2,3,2,4,2,2,2,2,2,2,2,2,2,2+4,2+4,2,2,2,2,2,4,2+3,2,18,h7w+p,xy+13,3t" +
  "+z,1il+1e,2cu+v,gw1+v,k2p+p,r+p,r+p,r,2+1,3,3+1,3+3,2+7,r+p,r+1,2+3,3+7,2+6,s+1,2+3,2+4,2,4+6,s+p,r+p,r+p,r+p," +
  "r+p,r+p,v+o,y+o,y+o,y+o,y+o,y,3ee+x;Mc:1s3,1k,3+2,9+3,2+1,1f+1,1n+2,7+1,3+1,b,18,1n+2,1v,1n+2,9,2+1,1i+1,1n,2," +
  "7+1,3+1,b,2v+1,2+1,4+2,2+2,b,16+2,1q+3,1q+1,1n,2+4,3+1,2+1,a+1,18+1,1n+2,6+2,2+2,b,17+1,24+2,7+7,j+1,97+1,1s,4" +
  "s+1,5,7,3+1,q+1,b+2,3+6,m+1,3+5,3,b+2,1ei,8+7,2+1,9n+3,3+2,5+1,2+5,69+1,1n,2,a,2+1,9+5,42,1d,6,2+4,2+1,1q,v,5+" +
  "1,3,1p,3+2,2,4+1,1d+7,9+1,4s,m,3sn+1,np0+1,3,2h+1,1f+f,3z+1,1c,1d+1,5+1,3+2,33+1,3+1,p,1a,2,32,3+1,6,6m+1,2+1," +
  "2+1,2,jro,2,3k,1a+2,5+1,38,p+1,1o,1d+2,a+1,e,2m+2,4+1,2,4r+2,w+1,1n+1,2+3,3+1,3+2,a,b+1,5u+2,9+1,4,2z+2,7,2+3," +
  "3,6m+2,7+3,3,36+2,9+1,2,32,2+1,7,2y+1,5,7a+2,a,6w+5,2+1,5,3,2,3z+2,9+3,5,2d,u+1,1r,bc,f,2z,8,3,5y+4,5+1,2,9r+1" +
  ",fvf+1i,2x+1,j90+1,7+5;Me:w8+1,4dx,17j+3,2+2,qdo+2;Mn:lc+33,7o+4,7e+18,2,2+1,2+1,2,21+a,1d+k,h,2u+6,3+5,3+1,2+" +
  "3,10,v+q,2k+a,1n+8,a,p+3,2+8,2+2,2+4,18+2,3c+e,2+v,1k,2,5+7,5,4+6,b+1,u,1n,5+3,9,l+1,r,3+1,1m,5+1,5+1,3+2,4,v+" +
  "1,4,c+1,1m,5+4,2+1,5,l+1,n+5,2,1n,3,2+3,9,8+1,c+1,v,1q,d,1f,4,1m+2,6+2,2+3,8+1,c+1,u,1n,3,7,6+1,l+1,t+1,1m+1,5" +
  "+3,9,l+1,u,21,8+2,2,2j,3+6,d+7,2r,3+8,c+5,23+1,s,2,2,1k+d,2+4,2+1,6+a,2+z,a,2v+3,2+5,2+1,3+1,q+1,5+2,h+3,e,3+1" +
  ",7,g,jk+2,qb+2,u+2,u+1,v+1,1t+1,2+6,9,3+a,a,1a+2,3c+1,z,3b+2,5+1,a,7+2,64+1,3,1n,2+6,2,2,3+7,7+9,3,1d+d,2+1,1s" +
  "+3,1d,2+4,2,6,15+8,d+1,x+3,3+1,2+2,1l,2+1,4,2+2,1n+7,3+1,49+2,2+c,2+6,5,7,4+1,5j+1l,2+4,k1+c,5,4+b,2db+2,3y,2p" +
  "+v,ff+3,30+1,n9x,5+9,x+1,29+1,7l,4,5,q+1,6,48+1,r+h,e,13+7,q+a,1b+2,1d,3+3,3+1,14,1w+5,3+1,3+1,d,9,1c,1g,2+2,3" +
  "+1,6+1,2,17+1,9,6n,3,5,fn5,ki+f,h+f,r2,6b,46+4,1af+2,2+1,6+3,15+2,5,4m+1,fy+3,as+1,4a+a,4x,1j+e,1l+2,1e+3,3+1," +
  "1y+2,11+4,2+7,1r,d+1,1h+8,b+3,3,2o+2,3,2+1,7,4h,4+7,m+1,1m+1,4,12+6,4+4,5g+7,3+2,2,o,2d+5,2,5+1,2+1,6n+3,7+1,2" +
  "+1,s+1,2e+7,3,2+1,2z,2,3+5,2,2u+2,3+3,2+4,78+8,2+1,75+1,2,5,41+3,3+1,5,x+9,15+5,3+3,9,a+5,3+2,1b+c,2+1,bb+6,2+" +
  "5,2,2b+l,3+6,2+1,2+1,3f+5,4,2+1,2+6,2,21+1,4,2,9o+1,f0c+4,1o+6,t5,1s+3,2a,f5l+1,43t+2,i+7,3+6,v+3,45+2,1j0+1i," +
  "5+1d,9,f,n+4,2+e,11t+6,2+g,3+6,2+1,2+4,7a+6,c6+3,15t+6,32+6,gzhy+6n;Nd:1c+9,17r+9,3r+9,5j+9,bh+9,3b+9,3b+9,3b+" +
  "9,3b+9,3b+9,3b+9,3b+9,3b+9,3b+9,2p+9,3b+9,1z+9,7r+9,1z+9,1fr+9,13+9,8d+9,3l+9,4n+9,7+9,53+9,2f+9,3r+9,7+9,r7r+" +
  "9,iv+9,13+9,5j+9,n+9,2f+9,bb+9,gev+9,13b+9,1on+9,ml+9,3l+9,1p+9,41+9,7r+9,9j+9,3b+9,af+9,2v+9,2v+9,br+9,2v+9,l" +
  "3+9,6v+9,1z+9,f5j+9,6f+9,lf9+1d,1tt+9,br+9,193+9,3o7+9;Nl:4j2+2,228+y,3+3,2v3,q+8,f+2,nfw+9,hu9+1g,ct,9,3r+4,6" +
  "cr+32;No:4y+1,6,3+2,1ti+5,ah+5,3d+2,3q+6,62+6,i+8,c2+9,ty+j,vo+9,dd,1au,4+5,7+9,5j+f,16,k7+1n,27+l,hj+t,12i,wl" +
  "+3,3v+9,v+7,2+e,x+9,14+e,n75+5,hjm+18,1u+3,i+1,9i+q,11+3,111+7,q+6,14+8,24+4,n+5,4h+1,3+f,3+19,1t+8,1h+1,v+2,2" +
  "4+4,2x+7,p+7,16+6,97+5,9t+u,4f+9,17+3,35+6,3r+j,ak+j,11i+1,bz+8,o8+i,no+k,ex3+6,m7+m,jt6+j,31+o,47j+8,pu+1m,2+" +
  "2,2+3,25+18,2+e,qr+c;Pc:2n,6ao+1,k,17tr+1,p+2,6o;Pd:19,125,1g,2te,sm,1l6+5,2rm,3,w+1,5,d8,k,34,14lt+1,12,b,4q," +
  "334;Pe:15,1g,w,2wu,2,1gf,1wq,1k,g,hn,2,v,u7,2,2,2,2,2,2,29,x,2,2,2,2,b9,2,2,2,2,2,2,2,2,2,2,1t,2,y,ti,2,2,2,dc" +
  ",2,2,2,2,4,2,2,2,3+1,14in,62,u,2,2,2,2,2,2,2,4,i,2,2,4r,1g,w,3,3;Pf:57,672,4,t,2q1,2,5,3,g,4;Pi:4r,67h,3+1,3,q" +
  ",2q1,2,5,3,g,4;Po:x+2,2+2,3,2,2+1,b+1,4+1,s,1x,6,f+1,8,jj,9,cz+5,16,1j,3,3,19+1,l+1,2+1,e,3+1,23+3,2v,18+d,6i+" +
  "2,1j+e,w,7a+1,b,3x,3d,3e,av,d,a8,2j,b+1,4p+e,2,35,23+4,5+1,34+5,4s,h1+8,li,3h+2,20+1,4e+2,2+2,12+5,2+3,8q+1,61" +
  "+1,3l+6,2+5,4t+6,4c+3,1o+4,1r+1,1t+7,c,n7+1,9+7,9+8,3+3,3+2,4+a,2,2+9,2hn+3,2+1,35,40+1,5+2,3,3+8,2+1,2,3+1,b+" +
  "4,2+9,3+3,2,2+c,3,bz+2,1m,5a,mwz+1,7i+2,2s,b,38+5,al+3,2f+1,15+2,2,1e+1,1c,2q+c,h+1,3h+3,3j+1,h+1,6y,g85+6,3,n" +
  ",l+1,3+3,4+2,2+3,8+2,7,2+1,46+2,2+2,3,2,2+1,b+1,4+1,s,11,3+1,bf+2,il,1d,bj,ko,5k,w,7l+8,13,35+6,1v+6,2i+3,qh+4" +
  ",6m+6,32+1,2+3,3j+3,1d+1,28+3,5,e,2+2,2h+5,30,bm+4,b+1,2,2x,6z+m,2y+2,t+c,5s+2,71,7d+2,4c,2l+7,2c+2,2+4,bj+4,1" +
  "7+1,hy+1,7b,vl+4,dtm+1,3q,1u+4,9,nn+3,94,f5p,5wo+4,2xf+1;Ps:14,1f,w,2wv,2,1gf,1vj,4,13,1k,g,hn,2,v,u7,2,2,2,2," +
  "2,2,29,x,2,2,2,2,b9,2,2,2,2,2,2,2,2,2,2,1t,2,y,ti,2,2,2,q,cm,2,2,2,2,4,2,2,2,3,14iq,60,u,2,2,2,2,2,2,2,4,i,2,2" +
  ",4r,1f,w,4,3;Sc:10,3i+3,yy,3g,dv+1,dv+1,8,6u,7c,g6,1wc,1qd+v,qrd,gxw,31,4b,64+1,4+1,6bb+3,12jj,1wx;Sk:2m,2,20," +
  "7,5,4,ei+3,d+d,6+6,2,2+g,3a,f+1,5ko,2+2,c+2,e+2,e+2,e+1,3a5+1,ndw+m,a+1,2w+1,r5,f+1,fuv+f,ot,2,4j,1c7s+4;Sm:17" +
  ",h+2,1q,2,1a,5,12,w,lb,eo+2,56k,e,14+2,e+2,3w,14+4,7,1x+4,6+1,5,3,3,8,w+1,3,2,w+7f,x+1,2j,v+o,15+5,d2,a,1j+7,3" +
  "4,9d+4,3+u,b+f,75+3m,n+1q,5+v,3+75,1d+k,3+5,1525,mx,2+2,4l,h+2,1q,2,3o,7+3,16fp,q,w,q,w,q,w,q,w,q,4kt+1;So:4m," +
  "3,5,2,r6,7f+1,3k+1,5r,b,k+1,6w,ec,ae,3n+5,2,3p,5s,16,aw+2,g,2+2,3+5,l,2,2,3q+7,2+5,2+1,6+3,5i+1,kx+9,k4,k3,4e+" +
  "x,9u+9,a+8,138+1,2+3,2+1,b,2+1,7+5,2,2,2,5,c+1,f,2+1,2,1n+1,a+4,3+3,2+1,2+1,2+6,2+u,3+1,2,2+u,7h+7,5+j,3+6,3+2" +
  "8,2+t,q+13,7+1w,q+a,2a+25,n+52,2+8,2+1h,9+32,2+6v,19+17,1t+73,e9+1b,m+1,7+12,3+v,2+2w,6e+5,9y+1,1b+p,2+2g,d+5x" +
  ",r+b,9,e+1,d,m+1,7+1,9d+1,5+9,x+z,t+u,c+t,9,g+v,b+12,g+8v,535+1r,h3l+1i,o2+3,b+1,2,fy+2,ghw,dj,4,5+1,e+1,8q+8," +
  "1m+g,3+2,2+c,4,1c+18,1a3+1,gg,2gn,1p2+7,5+g,evf+3,6,g2f,3tw+6t,b+12,3+1n,6+2,n+1,8+t,5+1m,o+1t,4,57+2e,x6+e7,1" +
  "k+3,1f+7,2+d,2+1,1c9,28t,3m,k2+17,5+2r,d+e,3+e,2+e,2+10,o+4g,1l+s,e+17,5+8,8+1,f+5,4b+6y,6+k7,9+c,4+c,4+37,d+2" +
  "g,8+b,l+b,5+1j,9+9,7+13,9+t,3+1,27+3c,2+29,2+3q,d+d,3+4,4+2,6+6,a+o,8+6,a+2,e+6,16+42,2+1i;Zl:6co;Zp:6cp;Zs:w," +
  "3k,4bk,1vk+a,11,1c,335";
const GO_SCRIPTS =
  "Adlam:2olc+23,5+9,5+1;Ahom:1j40+q,3+e,5+f;Anatolian_Hieroglyphs:1s00+g6;Arabic:16o+4,2+5,2+d,2,2,2+v,2+9,c+p,2" +
  "+2z,2+x,29+1b,81+k,2+h,c+e,2+s,1bv5+35,i+a2,j+1r,3+1h,15+d,37+4,2+3q,31g+u,185e+3,2+q,2+1,2,3,2+9,2+3,2,2,7,5," +
  "2,2,2+2,2+1,2,3,2,2,2,2,2+1,2,3+3,2+6,2+3,2+3,2,2+9,2+g,6+2,2+4,2+g,1h+1;Armenian:10x+11,3+1d,3+2,1chw+4;Avest" +
  "an:1gqo+1h,4+6;Balinese:5c0+23,5+18;Bamum:www+2f,124p+fs;Bassa_Vah:1zo0+t,3+5;Batak:5hc+1f,9+3;Bengali:1vk+3,2" +
  "+7,3+1,3+l,2+6,2,4+3,3+8,3+1,3+3,9,5+1,2+4,3+o;Bhaiksuki:1k3k+8,2+18,2+d,b+s;Bopomofo:kq+1,93u+16,35+v;Brahmi:" +
  "1hq8+25,5+t,g;Braille:7wg+73;Buginese:54w+r,3+1;Buhid:4lc+j;Canadian_Aboriginal:3y8+hr,fl+1x;Carian:1f34+1c;Ca" +
  "ucasian_Albanian:1flc+1f,c;Chakma:1hxc+1g,2+h;Cham:xkw+1i,a+d,3+9,3+3;Cherokee:3vk+2d,3+5,twz+27;Chorasmian:1h" +
  "o0+r;Common:0+1s,r+5,r+1a,2+e,2+4,o,w,ci+12,6+4,3+j,39,a,7,2,hq,7,f,4,x,4d,ed,3m+1,yi,ba+3,83,168+2,20+1,5o+1," +
  "2,y6,e,8+3,2+5,2+2,3,li+b,3+2e,2+a,4+a,2+e,i+v,1t+11,2+2,3+5,2+q,2+g,16+2,5+ie,q+a,m+pr,75+hf,3+v,2+2w,e9+2a,b" +
  "i+b,5+4,2,2+o,g+7,5+3,2k+1,4,2j+1,44+f,x+z,1p+1r,w+28,1c,2h+4n,535+1r,hkx+x,2v+2,4m+9,6t,4h,b0,f+1,g5v+1,5t+9," +
  "n+y,2+i,2+3,44,2+v,r+5,r+a,b,1a+1,1t+6,2+6,b+4,77+2,5+18,4+8,29+c,1g+18,6d+q,lif+1,f5p+3,3tp+6t,b+12,3+1p,4+g," +
  "9+1,8+t,5+1m,6w+j,d+2e,a+o,3s+2c,2+1y,2+1,3,3+1,3+3,2+b,2,2+6,2+1s,2+3,3+7,2+6,2+r,2+3,2+4,2,4+6,2+9f,3+83,3+1" +
  "d,41e+1v,25+1o,jn+17,5+2r,d+e,3+e,2+e,2+10,b+4t,1l+p,2+1,e+17,5+8,8+1,f+5,4b+rb,9+c,4+c,4+37,d+2g,8+b,l+b,5+1j" +
  ",9+9,7+13,9+t,3+1,27+3c,2+29,2+3q,d+d,3+4,4+2,6+6,a+o,8+6,a+2,e+6,16+42,2+1i,12+9,gvm0,v+2n;Coptic:rm+d,80h+37" +
  ",6+6;Cuneiform:1kw0+pl,2v+32,2+4,c+5f;Cypriot:1g5c+5,3,2+17,2+1,4,3;Cyrillic:sg+3o,3+4o,4lt+8,4j,25,38o+v,nr5+" +
  "2n,han+1;Deseret:1fcw+27;Devanagari:1s0+28,5+e,3+p,vhd+v;Dives_Akuru:1ji8+6,3,3+7,2+1,2+t,2+1,3+b,a+9;Dogra:1j" +
  "b4+1n;Duployan:2fpc+2y,6+c,4+8,8+9,3+3;Egyptian_Hieroglyphs:1o1s+tq,2+8;Elbasan:1fk0+13;Elymaic:1hpc+m;Ethiopi" +
  "c:3k0+20,2+3,3+6,2,2+3,3+14,2+3,3+w,2+3,3+6,2,2+3,3+e,2+1k,2+3,3+1u,3+v,4+p,547+m,a+6,2+6,2+6,2+6,2+6,2+6,2+6," +
  "2+6,opv+5,3+5,3+5,a+6,2+6;Georgian:3a8+11,2,6,3+16,2+3,2a9+16,3+2,37l+11,2,6;Glagolitic:8ow+1a,2+1a,2e1u+6,2+g" +
  ",3+6,2+1,2+4;Gothic:1f74+q;Grantha:1ibk+3,2+7,3+1,3+l,2+6,2+1,2+4,3+8,3+1,3+2,3,7,6+6,3+6,4+4;Greek:og+3,2+2,3" +
  "+3,2,5,2,2+2,2,2+j,2+1q,f+f,4yv+4,1f+4,5+4,2d,8x+l,3+5,3+11,3+5,3+7,2,2,2,2+u,3+1g,2+e,2+d,3+5,2+i,3+2,2+8,88," +
  "rb3,gyj+26,i,155s+1x;Gujarati:22p+2,2+8,2+2,2+l,2+6,2+1,2+4,3+9,2+2,2+2,3,g+3,3+b,8+6;Gunjala_Gondi:1kdc+5,2+1" +
  ",2+10,2+1,2+5,8+9;Gurmukhi:1z5+2,2+5,5+1,3+l,2+6,2+1,2+1,2+1,3,2+4,5+1,3+2,4,8+3,2,8+g;Han:96o+p,2+2g,d+5x,1c," +
  "2,q+8,f+3,qt+533,1t+g70,hl0+a5,3+2x,n4n+1,sgf+wyl,z+378,c+65,3+4g1,f+5rk,2e8+f1,15v+3t6;Hangul:3cw+73,5yn+1,76" +
  "+2l,36+u,1u+u,nhe+s,hw+8mb,d+m,5+1c,7tx+u,4+5,3+5,3+5,3+2;Hanifi_Rohingya:1h4w+13,9+9;Hanunoo:4kg+k;Hatran:1gb" +
  "k+i,2+1,6+4;Hebrew:13l+1i,9+q,5+5,1cfd+p,2+4,2,2+1,2+1,2+9;Hiragana:9j5+2d,7+2,23qa+7x,1e+2,cry;Imperial_Arama" +
  "ic:1g74+l,2+8;Inherited:lc+33,7q+1,cl+a,r,kh+3,3fg+g,eo+2,2+c,2+6,5,7,4+1,5j+1l,2+4,el+1,5f+w,30a+3,30+1,14km+" +
  "f,h+d,r4,6b,38b,11kc+2,i+7,3+6,v+3,h45v+6n;Inscriptional_Pahlavi:1gtc+i,6+7;Inscriptional_Parthian:1gsg+l,3+7;" +
  "Javanese:xhc+25,3+9,5+1;Kaithi:1hts+1t,c;Kannada:2gw+c,2+2,2+m,2+9,2+4,3+8,2+2,2+3,8+1,8,2+3,3+9,2+1;Katakana:" +
  "9lt+2h,3+2,6p+f,5t+1a,2+2f,14b3+9,2+18,yub,9w+3;Kayah_Li:xds+19,2;Kharoshthi:1gjk+3,2+1,6+7,2+2,2+s,3+2,5+9,8+" +
  "8;Khitan_Small_Script:20o4,5cs+d1;Khmer:4n4+2l,3+9,7+9,dj+v;Khojki:1i4g+h,2+17;Khudawadi:1i9c+1m,6+9;Lao:2v5+1" +
  ",2,2+4,2+n,2,2+m,3+4,2,2+5,3+9,3+3;Latin:1t+p,7+p,1c,g,6+m,2+u,2+cg,14+4,55o+11,7+1c,6+3,6+c,2+1x,1u+73,aa,e,h" +
  "+c,3y+1,7,s,i+14,254+v,o83+2t,4+1g,3+8,17+a,mp+16,2+8,2+3,fpz+6,t7+p,7+p;Lepcha:5j4+1j,4+e,4+2;Limbu:4xs+u,2+b" +
  ",5+b,5,4+b;Linear_A:1fr4+8m,a+l,b+7;Linear_B:1ekg+b,2+p,2+i,2+1,2+e,3+d,z+3e;Lisu:wk0+1b,o8h;Lycian:1f28+s;Lyd" +
  "ian:1gdc+p,6;Mahajani:1hzk+12;Makasar:1ko0+o;Malayalam:2kg+c,2+2,2+1e,2+2,2+5,5+f,3+p;Mandaic:1mo+r,3;Manichae" +
  "an:1gow+12,5+b;Marchen:1k6o+v,3+l,2+d;Masaram_Gondi:1kao+6,2+1,2+17,4,2+1,2+8,9+9;Medefaidrin:20cg+2i;Meetei_M" +
  "ayek:xr4+m,5m+19,3+9;Mende_Kikakui:2oe8+5g,3+f;Meroitic_Cursive:1ggw+n,5+j,3+19;Meroitic_Hieroglyphs:1gg0+v;Mi" +
  "ao:20hs+22,5+1k,8+g;Modi:1iww+1w,c+9;Mongolian:4qo+1,3,2+8,2+9,7+2g,8+16,1e46+c;Mro:1zk0+u,2+9,5+1;Multani:1i8" +
  "0+6,2,2+3,2+e,2+a;Myanmar:35s+4f,u9t+u,2q+v;Nabataean:1g8w+u,9+8;Nandinagari:1jmo+7,3+19,3+a;New_Tai_Lue:51c+1" +
  "7,5+p,7+a,4+1;Newa:1iio+2j,2+4;Nko:1j4+1m,3+2;Nushu:20o1,cy7+az;Nyiakeng_Puachue_Hmong:2n0g+18,4+d,3+9,5+1;Ogh" +
  "am:4g0+s;Ol_Chiki:5lc+1b;Old_Hungarian:1h1c+1e,e+1e,8+5;Old_Italic:1f5s+z,a+2;Old_North_Arabian:1gn4+v;Old_Per" +
  "mic:1f80+16;Old_Persian:1fa8+z,5+d;Old_Sogdian:1hj4+13;Old_South_Arabian:1gm8+v;Old_Turkic:1gxs+20;Oriya:269+2" +
  ",2+7,3+1,3+l,2+6,2+1,2+4,3+8,3+1,3+2,8+2,5+1,2+4,3+h;Osage:1fhs+z,5+z;Osmanya:1fgg+t,3+9;Pahawh_Hmong:1zpc+1x," +
  "b+9,2+6,2+k,6+i;Palmyrene:1g80+v;Pau_Cin_Hau:1juo+1k;Phags_Pa:x8g+1j;Phoenician:1gcg+r,4;Psalter_Pahlavi:1gu8+" +
  "h,8+3,d+6;Rejang:xf4+z,c;Runic:4gw+22,4+a;Samaritan:1kw+19,3+e;Saurashtra:xa8+1x,9+b;Sharada:1i0w+2n;Shavian:1" +
  "ff4+1b;Siddham:1itc+1h,3+11;SignWriting:2l8g+i3,g+4,2+e;Sinhala:2o1+2,2+h,4+n,2+8,2,3+6,4,5+5,2,2+7,7+9,3+2,1f" +
  "cd+j;Sogdian:1hkg+15;Sora_Sompeng:1hw0+o,8+9;Soyombo:1jrk+2a;Sundanese:5fk+1r,75+7;Syloti_Nagri:x6o+18;Syriac:" +
  "1ds+d,2+1n,3+2,7l+a;Tagalog:4jk+c,2+6;Tagbanwa:4m8+c,2+2,2+1;Tai_Le:500+t,3+4;Tai_Tham:55s+1q,2+s,3+a,7+9,7+d;" +
  "Tai_Viet:xog+1u,p+4;Takri:1j0g+1k,8+9;Tamil:29u+1,2+5,4+2,2+3,4+1,2,2+1,4+1,4+2,4+b,5+4,4+2,2+3,3,7,f+k,1ih2+1" +
  "d,e;Tangut:20o0,w+4qf,9+lb,e9+8;Telugu:2dc+c,2+2,2+m,2+f,4+7,2+2,2+3,8+1,2+2,6+3,3+9,8+8;Thaana:1hc+1d;Thai:2r" +
  "l+1l,6+r;Tibetan:2yo+1z,2+z,5+12,2+z,2+e,2+6,5+1;Tifinagh:8xc+1j,8+1,f;Tirhuta:1im8+1z,9+9;Ugaritic:1f9c+t,2;V" +
  "ai:wlc+8b;Wancho:2ncw+1l,6;Warang_Citi:1jfk+2a,d;Yezidi:1hfk+15,2+2,3+1;Yi:vls+wc,4+1i;Zanabazar_Square:1jpc+1" +
  "z";
// unicode.FoldCategory and unicode.FoldScript: what (?i) adds to a table (Go uses no folding for the others).
const GO_FOLD_TABLES =
  "L:n9;Ll:1t+p,2u+m,2+6,y,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,4,2,2,3,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+1,2,2,4+1,2,2+1,2+2,3+3,2+1,2+2,4+1,2+1,2,2,2+1,2,3,2+1,2+2,2,2+1,4,8+1,2+1,2+1," +
  "2,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,3+1,2,2+2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,8+1,2+1," +
  "3,2+3,2,2,2,2,6v,17,2,4,9,7,2+2,2,2+1,2+g,2+8,10,9,2,2,2,2,2,2,2,2,2,2,2,6,3,2+1,3+1e,1d,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,a,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+1,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3+11,28a+11,2,6,k3+2d,1p7+16,3+2,8x,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,a,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,2,a+7,9+5,b+7,9+7,9+5,c,2,2,2,9+7,p+7,9+7,9+7,9+4,c+4,c+3,d+4,c+4,8a,4+1,7,29,22l+1a,1e,2+2,3" +
  ",2,2,2+3,2,3,9+2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,9,2,5,nym,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,k,2,2,2,2,2,2,2,2,2,2,2,2,2,3s,2,2,2,2,2,2,4,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,b,2,2+1,2,2,2,2,5,2,3,2,4,2,2,2,2,2,2,2,2,2,2+4,2+4,2,2," +
  "2,2,2,4,2+3,2,18,h7w+p,xy+13,3t+z,1il+1e,2cu+v,gw1+v,o81+x;Lt:ck,2+1,2+1,2,11,2,5u5+7,9+7,9+7,c,g,1c;Lu:2p+p,1" +
  "n,16+n,2+7,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,4,2,2,3,2,2,2,2,2,2,2,3,2,2,2,2,2,2,2,2,2,2,2,2,2,2" +
  ",2,2,2,2,2,2,2,2,3,2,2+2,3,2,3,4,6,3,4+1,4,3,2,2,3,5,3,4,2,3,4,2,6+1,2+1,2+1,2,2,2,2,2,2,2,2+1,2,2,2,2,2,2,2,2" +
  ",2,3+1,2,4,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,4,2,2,2,2,2,2,2,2,9,3+1,2,5,2,2,2,2+5,2+1,2,2+1,4+1,2,2+1,2+4" +
  ",3,2+1,3,8,3,2+1,4+5,6,b+1,4n,18,2,4,4+2,1b+3,2+t,2+1,4+2,2,2,2,2,2,2,2,2,2,2,2,2+4,2,3,3,1h+1b,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,a,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,2,2,2,2,2,2+1,2,2,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,1e+11,28a+16,3+2,l5+5,1oj+8,6p,4,h" +
  ",37,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,6,6,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2+8,9+5,b+7,9+7,9+5,c,2,2,2,9+7,9+d,1f+1,d,i+1,f+1,4,a1,1i,23w+1a,3,4+1,2,2,2,7,3," +
  "b,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,9,2,5,d+11" +
  ",2,6,nx0,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,k,2,2,2,2,2,2,2,2,2,2,2,2,2,3s,2,2,2,2,2,2,4,2,2,2,2,2,2," +
  "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,b,2,3,2,2,2,2,5,5,2+1,3,2,2,2,2,2,2,2,2,2,c,2,2,2,2,2,4,5,2,18" +
  ",nx,t+27,ghu+p,y6+13,3t+z,1j9+1e,2by+v,gw1+v,o83+x;M:pl,w,5j9;Mn:pl,w,5j9;Common:po,w;Greek:51,i8;Inherited:pl" +
  ",w,5j9";

/** Sorted, merged, inclusive code point ranges, flattened: [lo0, hi0, lo1, hi1, …]. */
type Ranges = number[];

function normalize(pairs: number[]): Ranges {
  const n = pairs.length / 2;
  if (n <= 1) return pairs.slice();
  const idx: number[] = [];
  for (let i = 0; i < n; i++) idx.push(i);
  idx.sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
  const out: Ranges = [];
  for (const i of idx) {
    const lo = pairs[2 * i]!;
    const hi = pairs[2 * i + 1]!;
    const k = out.length;
    if (k > 0 && lo <= out[k - 1]! + 1) {
      if (hi > out[k - 1]!) out[k - 1] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function negate(r: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i]! > next) out.push(next, r[i]! - 1);
    next = r[i + 1]! + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

function inRanges(r: Ranges, cp: number): boolean {
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[2 * mid]!) hi = mid - 1;
    else if (cp > r[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

function decodeTable(s: string): Ranges {
  const out: Ranges = [];
  let prev = 0;
  for (const item of s.split(',')) {
    const plus = item.indexOf('+');
    const lo = prev + parseInt(plus < 0 ? item : item.slice(0, plus), 36);
    const hi = lo + (plus < 0 ? 0 : parseInt(item.slice(plus + 1), 36));
    out.push(lo, hi);
    prev = hi;
  }
  return out;
}

let tableIndex: Map<string, string> | undefined;
const tableCache = new Map<string, Ranges | null>();

/** Go 1.19's table for `\p{name}` (regexp/syntax's unicodeTable), or null when Go does not know the name. */
function goUnicodeTable(name: string): Ranges | null {
  const cached = tableCache.get(name);
  if (cached !== undefined) return cached;
  if (!tableIndex) {
    tableIndex = new Map();
    for (const src of [GO_CATEGORIES, GO_SCRIPTS]) {
      for (const entry of src.split(';')) {
        const colon = entry.indexOf(':');
        tableIndex.set(entry.slice(0, colon), entry.slice(colon + 1));
      }
    }
  }
  let r: Ranges | null = null;
  if (name === 'Any') {
    r = [0, MAX_RUNE];
  } else if (/^[CLMNPSZ]$/.test(name)) {
    const parts: number[] = [];
    for (const [k, v] of tableIndex) if (k.length === 2 && k[0] === name && /^[CLMNPSZ][a-z]$/.test(k)) parts.push(...decodeTable(v));
    r = normalize(parts);
  } else if (tableIndex.has(name)) {
    r = decodeTable(tableIndex.get(name)!);
  }
  tableCache.set(name, r);
  return r;
}

let foldIndex: Map<string, Ranges> | undefined;

/** Go 1.19's unicode.FoldCategory / unicode.FoldScript entry for a table name, if any. */
function goFoldTable(name: string): Ranges | undefined {
  if (!foldIndex) {
    foldIndex = new Map();
    for (const entry of GO_FOLD_TABLES.split(';')) {
      const colon = entry.indexOf(':');
      foldIndex.set(entry.slice(0, colon), decodeTable(entry.slice(colon + 1)));
    }
  }
  return foldIndex.get(name);
}

const ASCII_DIGIT: Ranges = [0x30, 0x39];
const PERL_CLASSES: Record<string, Ranges> = {
  d: ASCII_DIGIT,
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};
const POSIX_CLASSES: Record<string, Ranges> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/**
 * Go's case folding closure of a set of ASCII code points: each letter with its other case, plus
 * U+212A KELVIN SIGN for k/K and U+017F LATIN SMALL LETTER LONG S for s/S (the only non-ASCII members of
 * the fold orbits of ASCII letters). Null when the set has non-ASCII members (their orbits are not known here).
 */
function foldAscii(r: Ranges): Ranges | null {
  if (r.length > 0 && r[r.length - 1]! > 0x7f) return null;
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i]!;
    const hi = r[i + 1]!;
    const ulo = Math.max(lo, 0x41);
    const uhi = Math.min(hi, 0x5a);
    if (ulo <= uhi) out.push(ulo + 32, uhi + 32);
    const llo = Math.max(lo, 0x61);
    const lhi = Math.min(hi, 0x7a);
    if (llo <= lhi) out.push(llo - 32, lhi - 32);
  }
  const withLetters = normalize(out);
  if (inRanges(withLetters, 0x6b)) withLetters.push(0x212a, 0x212a);
  if (inRanges(withLetters, 0x73)) withLetters.push(0x17f, 0x17f);
  return normalize(withLetters);
}

// ---------------------------------------------------------------------------------------------------------
// A scanner/parser that follows Go 1.19's regexp/syntax.Parse (Perl flags) step by step. It runs before
// re2js validation, so it must cope with invalid input: it stops at the first syntax error (re2js reports
// it), and it records the Go-only errors that re2js would not report.
// ---------------------------------------------------------------------------------------------------------

type Node =
  | { k: 'chars'; r: Ranges; lit?: number }
  | { k: 'assert'; a: 'bot' | 'eot' | 'bol' | 'eol' | 'wb' | 'nwb' }
  | { k: 'group'; cap: number; body: Node }
  | { k: 'cat'; items: Node[] }
  | { k: 'alt'; items: Node[] }
  | { k: 'rep'; min: number; max: number; greedy: boolean; body: Node };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

class StopParse extends Error {}

class Scanner {
  pos = 0;
  ncap = 0;
  flags: Flags = { i: false, m: false, s: false, U: false };
  names: string[] = [''];
  nameSpans: { start: number; end: number }[] = [];
  /** Edits that make re2js parse like Go: `[` of `[:]` escaped. */
  fixes: Edit[] = [];
  /** Edits for the pattern re2js matches with: Unicode classes as explicit Go 1.19 ranges. */
  tableEdits: Edit[] = [];
  goError: { start: number; end: number; message: string } | null = null;
  /** Why the pattern cannot be translated to a native RegExp ('' when it can). */
  noNative = '';
  complete = false;
  tree: Node | null = null;

  constructor(readonly src: string) {}

  run(): void {
    try {
      const tree = this.parseAlt(0);
      if (this.pos < this.src.length) throw new StopParse('unexpected )');
      this.tree = tree;
      this.complete = true;
    } catch (e) {
      if (!(e instanceof StopParse)) throw e;
    }
  }

  private stop(why: string): never {
    throw new StopParse(why);
  }

  private noNativeBecause(reason: string): void {
    if (this.noNative === '') this.noNative = reason;
  }

  private cpAt(i: number): number {
    const c = this.src.codePointAt(i);
    if (c === undefined) this.stop('end');
    return c;
  }

  private parseAlt(depth: number): Node {
    if (depth > 1000) this.stop('nesting');
    const branches: Node[] = [this.parseConcat(depth)];
    while (this.pos < this.src.length && this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.parseConcat(depth));
    }
    return branches.length === 1 ? branches[0]! : { k: 'alt', items: branches };
  }

  private literal(cp: number): Node {
    if (this.flags.i) {
      const f = foldAscii([cp, cp]);
      if (f === null) {
        this.noNativeBecause('case-insensitive non-ASCII');
        return { k: 'chars', r: [cp, cp] };
      }
      if (f.length > 2) return { k: 'chars', r: f };
    }
    return { k: 'chars', r: [cp, cp], lit: cp };
  }

  private group(depth: number, cap: number): Node {
    const saved = this.flags;
    this.flags = { ...saved };
    const body = this.parseAlt(depth + 1);
    if (this.pos >= this.src.length || this.src[this.pos] !== ')') this.stop('missing )');
    this.pos++;
    this.flags = saved;
    return { k: 'group', cap, body };
  }

  private parseConcat(depth: number): Node {
    const src = this.src;
    const items: Node[] = [];
    let lastRepeat = false;
    while (this.pos < src.length) {
      const c = src[this.pos]!;
      if (c === '|' || c === ')') break;
      let repeat = false;
      switch (c) {
        case '(': {
          if (src[this.pos + 1] === '?') {
            const start = this.pos;
            if (src.length - this.pos > 4 && src[this.pos + 2] === 'P' && src[this.pos + 3] === '<') {
              const end = src.indexOf('>', this.pos);
              if (end < 0) this.stop('named capture');
              const name = src.slice(this.pos + 4, end);
              if (!/^[A-Za-z0-9_]+$/.test(name)) this.stop('named capture');
              const cap = ++this.ncap;
              this.names[cap] = name;
              this.nameSpans.push({ start: this.pos + 4, end });
              this.pos = end + 1;
              items.push(this.group(depth, cap));
              break;
            }
            // Flags, and non-capturing groups.
            let p = this.pos + 2;
            const nf = { ...this.flags };
            let sign = 1;
            let sawFlag = false;
            for (;;) {
              if (p >= src.length) this.stop('flags');
              const f = src[p]!;
              p++;
              if (f === 'i' || f === 'm' || f === 's' || f === 'U') {
                nf[f] = sign > 0;
                sawFlag = true;
              } else if (f === '-') {
                if (sign < 0) this.stop('flags');
                sign = -1;
                sawFlag = false;
              } else if (f === ':' || f === ')') {
                if (sign < 0 && !sawFlag) this.stop('flags');
                break;
              } else {
                if (f === '<' && p === start + 3) {
                  this.goError = { start, end: p, message: 'invalid or unsupported Perl syntax: `(?<`' };
                }
                this.stop('flags');
              }
            }
            if (src[p - 1] === ')') {
              this.flags = nf;
              this.pos = p;
            } else {
              this.pos = p;
              const saved = this.flags;
              this.flags = nf;
              const g = this.group(depth, 0);
              this.flags = saved;
              items.push(g);
            }
            break;
          }
          this.pos++;
          const cap = ++this.ncap;
          this.names[cap] = '';
          items.push(this.group(depth, cap));
          break;
        }
        case '[':
          items.push(this.parseClass());
          break;
        case '*':
        case '+':
        case '?': {
          this.pos++;
          this.repeat(items, c === '+' ? 1 : 0, c === '?' ? 1 : -1, lastRepeat);
          repeat = true;
          break;
        }
        case '{': {
          const rep = this.parseRepeat();
          if (rep === null) {
            this.pos++;
            items.push(this.literal(0x7b));
            break;
          }
          const [min, max, after] = rep;
          if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) this.stop('repeat count');
          this.pos = after;
          this.repeat(items, min, max, lastRepeat);
          repeat = true;
          break;
        }
        case '\\': {
          const n = src[this.pos + 1];
          if (n === undefined) this.stop('trailing backslash');
          if (n === 'A' || n === 'z' || n === 'b' || n === 'B') {
            items.push({ k: 'assert', a: n === 'A' ? 'bot' : n === 'z' ? 'eot' : n === 'b' ? 'wb' : 'nwb' });
            this.pos += 2;
            break;
          }
          if (n === 'C') this.stop('\\C');
          if (n === 'Q') {
            const endQ = src.indexOf('\\E', this.pos + 2);
            const lit = src.slice(this.pos + 2, endQ < 0 ? src.length : endQ);
            this.pos = endQ < 0 ? src.length : endQ + 2;
            for (const ch of lit) items.push(this.literal(ch.codePointAt(0)!));
            break;
          }
          if (n === 'p' || n === 'P') {
            const start = this.pos;
            const u = this.parseUnicodeClass();
            this.tableEdits.push({ start, end: this.pos, text: u.length > 0 ? '[' + re2Ranges(u) + ']' : '[^\\x{0}-\\x{10FFFF}]' });
            items.push({ k: 'chars', r: u });
            break;
          }
          if ('dDsSwW'.includes(n)) {
            this.pos += 2;
            items.push({ k: 'chars', r: this.group2(PERL_CLASSES[n.toLowerCase()]!, n !== n.toLowerCase()) });
            break;
          }
          items.push(this.literal(this.parseEscape()));
          break;
        }
        case '^':
          this.pos++;
          items.push({ k: 'assert', a: this.flags.m ? 'bol' : 'bot' });
          break;
        case '$':
          this.pos++;
          items.push({ k: 'assert', a: this.flags.m ? 'eol' : 'eot' });
          break;
        case '.':
          this.pos++;
          items.push({ k: 'chars', r: this.flags.s ? [0, MAX_RUNE] : [0, 9, 11, MAX_RUNE] });
          break;
        default: {
          const cp = this.cpAt(this.pos);
          this.pos += cp > 0xffff ? 2 : 1;
          items.push(this.literal(cp));
        }
      }
      lastRepeat = repeat;
    }
    return items.length === 1 ? items[0]! : { k: 'cat', items };
  }

  private repeat(items: Node[], min: number, max: number, lastRepeat: boolean): void {
    let lazy = false;
    if (this.src[this.pos] === '?') {
      lazy = true;
      this.pos++;
    }
    if (lastRepeat) this.stop('nested repetition');
    if (items.length === 0) this.stop('missing argument');
    const body = items.pop()!;
    items.push({ k: 'rep', min, max, greedy: lazy === this.flags.U, body });
  }

  /** Go's parseRepeat: `{n}`, `{n,}`, `{n,m}`; null when the text is not one (then `{` is a literal). */
  private parseRepeat(): [number, number, number] | null {
    const src = this.src;
    let p = this.pos + 1;
    const int = (): number | null => {
      if (p >= src.length || src[p]! < '0' || src[p]! > '9') return null;
      if (src[p] === '0' && p + 1 < src.length && src[p + 1]! >= '0' && src[p + 1]! <= '9') return null;
      let n = 0;
      while (p < src.length && src[p]! >= '0' && src[p]! <= '9') {
        if (n >= 1e8) n = -1;
        else if (n >= 0) n = n * 10 + (src.charCodeAt(p) - 48);
        p++;
      }
      return n;
    };
    let min = int();
    if (min === null || p >= src.length) return null;
    let max: number;
    if (src[p] !== ',') {
      max = min;
    } else {
      p++;
      if (p >= src.length) return null;
      if (src[p] === '}') {
        max = -1;
      } else {
        const m = int();
        if (m === null) return null;
        max = m;
        if (max < 0) min = -1;
      }
    }
    if (p >= src.length || src[p] !== '}') return null;
    return [min, max, p + 1];
  }

  /** Go's appendGroup: a class table, case-folded under (?i), then negated when asked. */
  private group2(table: Ranges, negated: boolean): Ranges {
    let r = table;
    if (this.flags.i) {
      const f = foldAscii(table);
      if (f === null) this.noNativeBecause('case-insensitive non-ASCII');
      else r = f;
    }
    return negated ? negate(r) : r;
  }

  /** `\pN`, `\p{Name}`, `\PN`, `\p{^Name}`: the code points (Go 1.19 tables). */
  private parseUnicodeClass(): Ranges {
    const src = this.src;
    const start = this.pos;
    let sign = src[this.pos + 1] === 'P' ? -1 : 1;
    let p = this.pos + 2;
    if (p >= src.length) this.stop('unicode class');
    let name: string;
    if (src[p] !== '{') {
      const cp = this.cpAt(p);
      p += cp > 0xffff ? 2 : 1;
      name = String.fromCodePoint(cp);
    } else {
      const end = src.indexOf('}', p);
      if (end < 0) this.stop('unicode class');
      name = src.slice(p + 1, end);
      p = end + 1;
    }
    const seq = src.slice(start, p);
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    const table = goUnicodeTable(name);
    if (table === null) {
      this.goError = { start, end: p, message: 'invalid character class range: `' + seq + '`' };
      this.stop('unicode class');
    }
    this.pos = p;
    let set = table;
    if (this.flags.i) {
      const fold = goFoldTable(name);
      if (fold) set = normalize([...table, ...fold]);
    }
    return sign > 0 ? set : negate(set);
  }

  /** Go's parseEscape outside of class shorthands: the code point of `\x{…}`, `\n`, `\.`, octal, … */
  private parseEscape(): number {
    const src = this.src;
    let p = this.pos + 1;
    if (p >= src.length) this.stop('trailing backslash');
    const c = this.cpAt(p);
    p += c > 0xffff ? 2 : 1;
    const isOct = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '7';
    const hex = (ch: string | undefined): number => (ch !== undefined && /^[0-9A-Fa-f]$/.test(ch) ? parseInt(ch, 16) : -1);
    const done = (r: number): number => {
      this.pos = p;
      return r;
    };
    if (c < 0x80 && !/[0-9A-Za-z]/.test(String.fromCharCode(c))) return done(c);
    const ch = String.fromCharCode(c);
    if ((ch >= '1' && ch <= '7' && isOct(src[p])) || ch === '0') {
      let r = c - 48;
      for (let i = 1; i < 3 && isOct(src[p]); i++) r = r * 8 + (src.charCodeAt(p++) - 48);
      return done(r);
    }
    if (ch === 'x') {
      if (p >= src.length) this.stop('escape');
      if (src[p] === '{') {
        p++;
        let r = 0;
        let nhex = 0;
        for (;;) {
          if (p >= src.length) this.stop('escape');
          if (src[p] === '}') {
            p++;
            break;
          }
          const v = hex(src[p]);
          if (v < 0) this.stop('escape');
          r = r * 16 + v;
          if (r > MAX_RUNE) this.stop('escape');
          nhex++;
          p++;
        }
        if (nhex === 0) this.stop('escape');
        return done(r);
      }
      const x = hex(src[p]);
      const y = hex(src[p + 1]);
      if (x < 0 || y < 0) this.stop('escape');
      p += 2;
      return done(x * 16 + y);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (ch in simple) return done(simple[ch]!);
    this.stop('escape');
  }

  private parseClass(): Node {
    const src = this.src;
    this.pos++;
    let negated = false;
    if (src[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    const parts: number[] = [];
    let first = true;
    while (this.pos >= src.length || src[this.pos] !== ']' || first) {
      if (this.pos >= src.length) this.stop('missing ]');
      first = false;
      if (src.length - this.pos > 2 && src[this.pos] === '[' && src[this.pos + 1] === ':') {
        const i = src.indexOf(':]', this.pos + 2);
        if (i >= 0) {
          const name = src.slice(this.pos, i + 2);
          const m = /^\[:(\^?)([a-z]+):\]$/.exec(name);
          const table = m ? POSIX_CLASSES[m[2]!] : undefined;
          if (!m || !table || !Object.prototype.hasOwnProperty.call(POSIX_CLASSES, m[2]!)) {
            this.goError = { start: this.pos, end: i + 2, message: 'invalid character class range: `' + name + '`' };
            this.stop('posix class');
          }
          parts.push(...this.group2(table, m[1] === '^'));
          this.pos = i + 2;
          continue;
        }
        // Not a POSIX class: `[` is a literal. re2js would take `[:]` for one; escape it for re2js.
        if (src[this.pos + 2] === ']') this.fixes.push({ start: this.pos, end: this.pos + 1, text: '\\[' });
      }
      if (src[this.pos] === '\\' && (src[this.pos + 1] === 'p' || src[this.pos + 1] === 'P')) {
        const start = this.pos;
        const u = this.parseUnicodeClass();
        if (u.length > 0) this.tableEdits.push({ start, end: this.pos, text: re2Ranges(u) });
        parts.push(...u);
        continue;
      }
      if (src[this.pos] === '\\' && src[this.pos + 1] !== undefined && 'dDsSwW'.includes(src[this.pos + 1]!)) {
        const n = src[this.pos + 1]!;
        parts.push(...this.group2(PERL_CLASSES[n.toLowerCase()]!, n !== n.toLowerCase()));
        this.pos += 2;
        continue;
      }
      const lo = this.classChar();
      let hi = lo;
      if (src.length - this.pos >= 2 && src[this.pos] === '-' && src[this.pos + 1] !== ']') {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) this.stop('range');
      }
      if (this.flags.i) {
        const f = foldAscii([lo, hi]);
        if (f === null) {
          this.noNativeBecause('case-insensitive non-ASCII');
          parts.push(lo, hi);
        } else {
          parts.push(...f);
        }
      } else {
        parts.push(lo, hi);
      }
    }
    this.pos++;
    const r = normalize(parts);
    return { k: 'chars', r: negated ? negate(r) : r };
  }

  private classChar(): number {
    if (this.pos >= this.src.length) this.stop('missing ]');
    if (this.src[this.pos] === '\\') return this.parseEscape();
    const cp = this.cpAt(this.pos);
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

function hexCp(cp: number): string {
  return cp.toString(16).toUpperCase();
}

/** Ranges in RE2 class syntax (without the brackets). */
function re2Ranges(r: Ranges): string {
  let s = '';
  for (let i = 0; i < r.length; i += 2) {
    s += `\\x{${hexCp(r[i]!)}}`;
    if (r[i + 1]! > r[i]!) s += `-\\x{${hexCp(r[i + 1]!)}}`;
  }
  return s;
}

function applyEdits(src: string, edits: readonly Edit[]): string {
  if (edits.length === 0) return src;
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) continue;
    out += src.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + src.slice(at);
}

// ---------------------------------------------------------------------------------------------------------
// Native translation: eligibility, cost bound and emission.
// ---------------------------------------------------------------------------------------------------------

function nullable(n: Node): boolean {
  switch (n.k) {
    case 'chars':
      return false;
    case 'assert':
      return true;
    case 'group':
      return nullable(n.body);
    case 'cat':
      return n.items.every(nullable);
    case 'alt':
      return n.items.some(nullable);
    case 'rep':
      return n.min === 0 || nullable(n.body);
  }
}

/** A body that consumes a fixed sequence of single characters: no choices, captures or assertions inside. */
function simpleSequence(n: Node): boolean {
  if (n.k === 'chars') return true;
  if (n.k === 'cat') return n.items.length > 0 && n.items.every((x) => x.k === 'chars');
  if (n.k === 'group' && n.cap === 0) return simpleSequence(n.body);
  return false;
}

interface Cost {
  b: number; // product of bounded choices
  u: number; // unbounded repetitions
  reason: string;
}

function analyse(n: Node, cost: Cost): void {
  if (cost.reason) return;
  switch (n.k) {
    case 'chars':
      return;
    case 'assert':
      return;
    case 'group':
      analyse(n.body, cost);
      return;
    case 'cat':
      for (const x of n.items) analyse(x, cost);
      return;
    case 'alt':
      cost.b *= n.items.length;
      for (const x of n.items) analyse(x, cost);
      return;
    case 'rep': {
      let inner0: Node = n.body;
      while (inner0.k === 'group' && inner0.cap === 0) inner0 = inner0.body;
      if (inner0.k === 'assert') {
        cost.reason = 'repeated assertion';
        return;
      }
      if (n.max === 0 || (n.min === 1 && n.max === 1)) {
        analyse(n.body, cost);
        return;
      }
      if (nullable(n.body)) {
        cost.reason = 'repetition of something that can match empty';
        return;
      }
      if (n.max === 1) {
        cost.b *= 2;
        analyse(n.body, cost);
        return;
      }
      const inner = n.body.k === 'group' && n.body.cap > 0 ? n.body.body : n.body;
      if (!simpleSequence(inner)) {
        cost.reason = n.body.k === 'group' && hasCapture(inner) ? 'capture inside a repeated group' : 'nested repetition or alternation inside a repeated group';
        return;
      }
      if (n.max < 0 || n.max - n.min + 1 > 64) cost.u += 1;
      else cost.b *= n.max - n.min + 1;
      analyse(inner, cost);
      return;
    }
  }
}

function hasCapture(n: Node): boolean {
  switch (n.k) {
    case 'group':
      return n.cap > 0 || hasCapture(n.body);
    case 'cat':
    case 'alt':
      return n.items.some(hasCapture);
    case 'rep':
      return hasCapture(n.body);
    default:
      return false;
  }
}

const COST_BUDGET = 1e7;

function jsChar(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCharCode(cp);
  return `\\u{${hexCp(cp)}}`;
}

function jsClass(r: Ranges): string {
  if (r.length === 2 && r[0] === r[1]) return jsChar(r[0]!);
  const neg = negate(r);
  const useNeg = neg.length < r.length;
  const list = useNeg ? neg : r;
  let s = useNeg ? '[^' : '[';
  for (let i = 0; i < list.length; i += 2) {
    s += jsChar(list[i]!);
    if (list[i + 1]! > list[i]!) s += '-' + jsChar(list[i + 1]!);
  }
  return s + ']';
}

function emit(n: Node): string {
  switch (n.k) {
    case 'chars':
      return jsClass(n.r);
    case 'assert':
      switch (n.a) {
        case 'bot':
          return '^';
        case 'eot':
          return '$';
        case 'bol':
          return '(?:^|(?<=\\n))';
        case 'eol':
          return '(?:$|(?=\\n))';
        case 'wb':
          return '\\b';
        case 'nwb':
          return '\\B';
      }
      break;
    case 'group':
      return (n.cap > 0 ? '(' : '(?:') + emit(n.body) + ')';
    case 'cat':
      return n.items.map((x) => (x.k === 'alt' ? `(?:${emit(x)})` : emit(x))).join('');
    case 'alt':
      return n.items.map(emit).join('|');
    case 'rep': {
      const body = n.body.k === 'chars' || n.body.k === 'group' ? emit(n.body) : `(?:${emit(n.body)})`;
      let q: string;
      if (n.min === 0 && n.max === -1) q = '*';
      else if (n.min === 1 && n.max === -1) q = '+';
      else if (n.min === 0 && n.max === 1) q = '?';
      else if (n.max === -1) q = `{${n.min},}`;
      else if (n.min === n.max) q = `{${n.min}}`;
      else q = `{${n.min},${n.max}}`;
      return body + q + (n.greedy ? '' : '?');
    }
  }
  return '';
}

// ---------------------------------------------------------------------------------------------------------
// Fast paths.
// ---------------------------------------------------------------------------------------------------------

/** The literal string a node always matches (no captures, no case folding), or null. */
function literalOf(n: Node): string | null {
  if (n.k === 'chars') return n.lit !== undefined ? String.fromCodePoint(n.lit) : null;
  if (n.k === 'cat') {
    let s = '';
    for (const x of n.items) {
      const l = literalOf(x);
      if (l === null) return null;
      s += l;
    }
    return s;
  }
  if (n.k === 'group' && n.cap === 0) return literalOf(n.body);
  return null;
}

const DOT_NL: Ranges = [0, 9, 11, MAX_RUNE];
const DOT_ALL: Ranges = [0, MAX_RUNE];

function sameRanges(a: Ranges, b: Ranges): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

interface StarShape {
  prefix: string;
  suffix: string;
  min: number; // 0 for `*`, 1 for `+`
  newline: boolean; // whether the middle may contain "\n"
  capture: boolean;
}

/** `prefix(.*)suffix`, `prefix.+suffix` and the like, with literal prefix and suffix. */
function starShape(n: Node): StarShape | null {
  while (n.k === 'group' && n.cap === 0) n = n.body;
  const items = n.k === 'cat' ? n.items : [n];
  let idx = -1;
  for (let i = 0; i < items.length; i++) {
    if (literalOf(items[i]!) === null) {
      if (idx >= 0) return null;
      idx = i;
    }
  }
  if (idx < 0) return null;
  let mid = items[idx]!;
  let capture = false;
  if (mid.k === 'group' && mid.cap === 1) {
    capture = true;
    mid = mid.body;
  }
  while (mid.k === 'group' && mid.cap === 0) mid = mid.body;
  if (mid.k !== 'rep' || mid.max !== -1 || mid.min > 1 || mid.body.k !== 'chars') return null;
  const dotNl = sameRanges(mid.body.r, DOT_NL);
  if (!dotNl && !sameRanges(mid.body.r, DOT_ALL)) return null;
  let prefix = '';
  let suffix = '';
  for (let i = 0; i < items.length; i++) {
    if (i < idx) prefix += literalOf(items[i]!)!;
    if (i > idx) suffix += literalOf(items[i]!)!;
  }
  return { prefix, suffix, min: mid.min, newline: !dotNl, capture };
}

// ---------------------------------------------------------------------------------------------------------
// Templates (Go's Regexp.Expand).
// ---------------------------------------------------------------------------------------------------------

let letterOrDigit: Ranges | undefined;

/** Go's unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' (Go 1.19 tables). */
function isNameRune(cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f;
  letterOrDigit ??= normalize([...goUnicodeTable('L')!, ...goUnicodeTable('Nd')!]);
  return inRanges(letterOrDigit, cp);
}

/** A parsed template: literal text, and group references as the list of group indexes to try in order. */
export type Template = ReadonlyArray<string | readonly number[]>;

/** Parses a template as Go's regexp.expand reads it. `names` are the subexpression names (index 0 is ''). */
export function parseTemplate(template: string, names: readonly string[]): Template {
  const parts: (string | number[])[] = [];
  let lit = '';
  let t = template;
  for (;;) {
    const d = t.indexOf('$');
    if (d < 0) break;
    lit += t.slice(0, d);
    t = t.slice(d + 1);
    if (t.startsWith('$')) {
      lit += '$';
      t = t.slice(1);
      continue;
    }
    // Go's extract: optional brace, a run of letters, digits and '_', the closing brace.
    let s = t;
    let brace = false;
    if (s.startsWith('{')) {
      brace = true;
      s = s.slice(1);
    }
    let i = 0;
    while (i < s.length) {
      const cp = s.codePointAt(i)!;
      if (!isNameRune(cp)) break;
      i += cp > 0xffff ? 2 : 1;
    }
    if (i === 0 || (brace && s[i] !== '}')) {
      // Malformed: the $ is literal text.
      lit += '$';
      continue;
    }
    const name = s.slice(0, i);
    t = s.slice(i + (brace ? 1 : 0));
    let num = 0;
    for (let k = 0; k < name.length; k++) {
      const ch = name.charCodeAt(k);
      if (ch < 48 || ch > 57 || num >= 1e8) {
        num = -1;
        break;
      }
      num = num * 10 + ch - 48;
    }
    if (name.length > 1 && name[0] === '0') num = -1;
    const refs: number[] = [];
    if (num >= 0) {
      if (num < names.length) refs.push(num);
    } else {
      for (let g = 1; g < names.length; g++) if (names[g] === name) refs.push(g);
    }
    if (refs.length > 0) {
      if (lit !== '') parts.push(lit);
      lit = '';
      parts.push(refs);
    }
  }
  lit += t;
  if (lit !== '') parts.push(lit);
  return parts;
}

/** Expands a parsed template with a match (as from exec). */
export function expandTemplate(tpl: Template, match: ArrayLike<string | undefined>): string {
  if (tpl.length === 1 && typeof tpl[0] === 'string') return tpl[0];
  let out = '';
  for (const part of tpl) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    for (const g of part) {
      const v = match[g];
      if (v !== undefined) {
        out += v;
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The regex.
// ---------------------------------------------------------------------------------------------------------

export type Re2Engine = 'auto' | 're2js';

/** How a compiled regex matches; exposed for tests and benchmarks. */
export type Re2Strategy = 'literal' | 'literal-set' | 'star' | 'native' | 're2js';

const MARKER = '\\p{~}';

/** The body of `^(?:body)$` when the parsed wrapper has that shape (a `)` in the pattern can break it). */
function wrapped(tree: Node): Node | null {
  if (tree.k !== 'cat' || tree.items.length !== 3) return null;
  const [a, g, z] = tree.items;
  if (a!.k !== 'assert' || a!.a !== 'bot' || z!.k !== 'assert' || z!.a !== 'eot' || g!.k !== 'group' || g!.cap !== 0) return null;
  return g!.body;
}

function anchored(p: string): string {
  return '^(?:' + p + ')$';
}

function goError(message: string): Error {
  return new Error('error parsing regexp: ' + message);
}

export class Re2Regex {
  /** The pattern as written in the configuration (unanchored). */
  readonly source: string;
  /** Named groups: name → index of the first group with that name. */
  readonly groupNames: ReadonlyMap<string, number>;
  /** Go's SubexpNames: index 0 is the whole match, unnamed groups are ''. */
  readonly subexpNames: readonly string[];
  /** Number of capturing groups. */
  readonly numGroups: number;
  readonly strategy: Re2Strategy;
  /** Why the native translation is not used ('' when it is, or when a fast path applies). */
  readonly fallbackReason: string;
  /** The JS source of the native translation, when there is one (for tests and debugging). */
  readonly nativeSource: string | undefined;
  /**
   * Whether the pattern keeps Prometheus's `^(?:…)$` wrapper intact, so that a match is always the whole
   * string. A pattern like `a)|(b` breaks it, and Go then searches for `^(?:a)|(b)$` anywhere in the string.
   */
  readonly wrapped: boolean;

  private readonly re2Text: string;
  private re2: RE2JS | undefined;
  private readonly native: RegExp | undefined;
  private nativeGlobal: RegExp | undefined;
  private readonly maxNativeLen: number;
  private readonly lit: string;
  private readonly set: ReadonlySet<string> | undefined;
  private readonly star: StarShape | undefined;

  private constructor(pattern: string, opts: { engine?: Re2Engine }) {
    this.source = pattern;
    // Prometheus compiles "^(?:" + pattern + ")$": scan and validate exactly that text, so that a `)` in the
    // pattern closes the wrapper group as it does in Go.
    const full = anchored(pattern);
    const sc = new Scanner(full);
    sc.run();

    // Validation by re2js, with Go's corrections.
    const fixes = [...sc.fixes, ...renameDuplicates(full, sc)];
    let validation = applyEdits(full, fixes);
    if (sc.goError) {
      const ge = sc.goError;
      validation = applyEdits(full, [...fixes.filter((e) => e.end <= ge.start), { start: ge.start, end: ge.end, text: MARKER }]);
      try {
        RE2JS.compile(validation);
      } catch (e) {
        const msg = (e as Error).message;
        if (!msg.includes('`' + MARKER)) throw new Error(mapMessage(msg, validation, full));
      }
      throw goError(ge.message);
    }
    let validated: RE2JS;
    try {
      validated = RE2JS.compile(validation);
    } catch (e) {
      throw new Error(mapMessage((e as Error).message, validation, full));
    }

    this.numGroups = validated.groupCount();
    const names = sc.complete && sc.ncap === this.numGroups ? sc.names : namesFromRe2(validated);
    this.subexpNames = names;
    const gn = new Map<string, number>();
    names.forEach((n, i) => {
      if (n !== '' && !gn.has(n)) gn.set(n, i);
    });
    this.groupNames = gn;

    this.re2Text = sc.complete ? applyEdits(full, [...fixes, ...sc.tableEdits]) : validation;
    if (this.re2Text === validation) this.re2 = validated;

    this.lit = '';
    this.maxNativeLen = 0;
    let strategy: Re2Strategy = 're2js';
    let reason = '';
    if (opts.engine === 're2js') {
      reason = 'engine re2js requested';
    } else if (!sc.complete || sc.tree === null) {
      reason = 'pattern not understood by the translator';
    } else {
      const tree = sc.tree;
      const body = wrapped(tree);
      const lit = sc.noNative || body === null ? null : literalOf(body);
      const star = sc.noNative || body === null ? null : starShape(body);
      if (lit !== null) {
        strategy = 'literal';
        this.lit = lit;
      } else if (!sc.noNative && body !== null && body.k === 'alt' && body.items.every((x) => literalOf(x) !== null)) {
        strategy = 'literal-set';
        this.set = new Set(body.items.map((x) => literalOf(x)!));
      } else if (star !== null && (!star.capture || this.numGroups === 1)) {
        strategy = 'star';
        this.star = star;
      } else if (sc.noNative) {
        reason = sc.noNative;
      } else {
        const cost: Cost = { b: 1, u: 0, reason: '' };
        analyse(tree, cost);
        if (!cost.reason && cost.b > COST_BUDGET) cost.reason = 'too many choices for a backtracking engine';
        if (cost.reason) {
          reason = cost.reason;
        } else {
          try {
            const src = tree.k === 'alt' ? `(?:${emit(tree)})` : emit(tree);
            this.native = new RegExp(src, 'u');
            this.nativeSource = src;
            strategy = 'native';
            // An unwrapped pattern is searched for at every position: one more factor of n.
            const u = cost.u + (body === null ? 1 : 0);
            this.maxNativeLen = u === 0 ? Infinity : Math.floor(Math.pow(COST_BUDGET / cost.b, 1 / u)) - 1;
          } catch {
            reason = 'translation rejected by the JS engine';
          }
        }
      }
    }
    this.strategy = strategy;
    this.wrapped = sc.complete && sc.tree !== null && wrapped(sc.tree) !== null;
    this.fallbackReason = reason;
  }

  /** Compiles a relabel regex; throws Error with Go's message when Go 1.19 would reject it. */
  static compile(pattern: string, opts: { engine?: Re2Engine } = {}): Re2Regex {
    return new Re2Regex(pattern, opts);
  }

  private engine(): RE2JS {
    this.re2 ??= RE2JS.compile(this.re2Text);
    return this.re2;
  }

  private re2Exec(s: string): (string | undefined)[] | null {
    // A search, as Go's FindStringSubmatchIndex does: the same as a whole-string match for `^(?:…)$`.
    const m = this.engine().matcher(s);
    if (!m.find()) return null;
    return this.groupsOf(m);
  }

  private groupsOf(m: ReturnType<RE2JS['matcher']>): (string | undefined)[] {
    const out: (string | undefined)[] = new Array(this.numGroups + 1);
    for (let i = 0; i <= this.numGroups; i++) {
      const g = m.group(i);
      out[i] = g === null ? undefined : g;
    }
    return out;
  }

  /**
   * Go's ReplaceAllString(s, template) with a parsed template. For the usual `^(?:…)$` shape there is at
   * most one match, the whole string; a pattern whose `)` closes Prometheus's wrapper early can match
   * several parts of `s`, and this follows Go's loop for that too.
   */
  replaceAll(s: string, tpl: Template): string {
    if (this.wrapped) {
      const m = this.exec(s);
      return m === null ? s : expandTemplate(tpl, m);
    }
    let out = '';
    let lastMatchEnd = 0;
    let searchPos = 0;
    while (searchPos <= s.length) {
      const found = this.findAt(s, searchPos);
      if (found === null) break;
      const [start, end, groups] = found;
      out += s.slice(lastMatchEnd, start);
      // No replacement for an empty match right after the previous match.
      if (end > lastMatchEnd || start === 0) out += expandTemplate(tpl, groups);
      lastMatchEnd = end;
      const cp = s.codePointAt(searchPos);
      const width = cp === undefined ? 0 : cp > 0xffff ? 2 : 1;
      if (searchPos + width > end) searchPos += width;
      else if (searchPos + 1 > end) searchPos++;
      else searchPos = end;
    }
    return out + s.slice(lastMatchEnd);
  }

  /** The leftmost match starting the search at `from` (anchors still see the whole string). */
  private findAt(s: string, from: number): [number, number, (string | undefined)[]] | null {
    if (this.native && this.strategy === 'native') {
      this.nativeGlobal ??= new RegExp(this.native.source, 'gu');
      this.nativeGlobal.lastIndex = from;
      const m = this.nativeGlobal.exec(s);
      return m === null ? null : [m.index, m.index + m[0].length, m];
    }
    const m = this.engine().matcher(s);
    if (from > s.length || !m.find(from)) return null;
    return [m.start(0), m.end(0), this.groupsOf(m)];
  }

  /**
   * The match as Go's FindStringSubmatch gives it: [match, group 1, …] with undefined for groups that did not
   * take part; null if none. With the `^(?:…)$` wrapper intact the match is the whole string.
   */
  exec(s: string): (string | undefined)[] | null {
    switch (this.strategy) {
      case 'literal':
        return s === this.lit ? [s] : null;
      case 'literal-set':
        return this.set!.has(s) ? [s] : null;
      case 'star': {
        const st = this.star!;
        if (!this.starMatches(s, st)) return null;
        return st.capture ? [s, s.slice(st.prefix.length, s.length - st.suffix.length)] : [s];
      }
      case 'native':
        if (s.length <= this.maxNativeLen) {
          try {
            return this.native!.exec(s);
          } catch {
            // e.g. backtracking stack exhausted: RE2 has no such limit.
          }
        }
        return this.re2Exec(s);
      case 're2js':
        return this.re2Exec(s);
    }
  }

  private starMatches(s: string, st: StarShape): boolean {
    const pl = st.prefix.length;
    const sl = st.suffix.length;
    if (s.length < pl + sl + st.min) return false;
    if (pl > 0 && !s.startsWith(st.prefix)) return false;
    if (sl > 0 && !s.endsWith(st.suffix)) return false;
    if (!st.newline) {
      const nl = s.indexOf('\n', pl);
      if (nl >= 0 && nl < s.length - sl) return false;
    }
    return true;
  }

  /** Whether the whole string matches. */
  test(s: string): boolean {
    switch (this.strategy) {
      case 'literal':
        return s === this.lit;
      case 'literal-set':
        return this.set!.has(s);
      case 'star':
        return this.starMatches(s, this.star!);
      case 'native':
        if (s.length <= this.maxNativeLen) {
          try {
            return this.native!.test(s);
          } catch {
            // fall through to re2js
          }
        }
        return this.engine().test(s);
      case 're2js':
        return this.engine().test(s);
    }
  }

  /**
   * True when the regex is `(.*)` in effect: it matches exactly the strings without "\n" and group 1 is the
   * whole string. Lets callers skip building a match for the default relabel regex.
   */
  isDotStarCapture(): boolean {
    const st = this.star;
    return this.strategy === 'star' && st !== undefined && st.capture && st.min === 0 && !st.newline && st.prefix === '' && st.suffix === '';
  }

  /** Parses a template for repeated expansion with this regex's groups. */
  template(template: string): Template {
    return parseTemplate(template, this.subexpNames);
  }

  /** Go's Regexp.ExpandString of `template` with a match from exec: $1, ${1}, $name, ${name}, $$. */
  expand(template: string, match: ArrayLike<string | undefined>): string {
    return expandTemplate(parseTemplate(template, this.subexpNames), match);
  }

  toString(): string {
    return this.source;
  }
}

/** Renames the second and later uses of a group name (Go 1.19 allows duplicates, re2js does not). */
function renameDuplicates(pattern: string, sc: Scanner): Edit[] {
  const seen = new Set<string>();
  const used = new Set(sc.names);
  const edits: Edit[] = [];
  let counter = 0;
  for (const span of sc.nameSpans) {
    const name = pattern.slice(span.start, span.end);
    if (!seen.has(name)) {
      seen.add(name);
      continue;
    }
    const alphabet = '_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    let fresh = '';
    for (let tries = 0; tries < 100000; tries++) {
      let n = counter++;
      let s = '';
      do {
        s = alphabet[n % alphabet.length] + s;
        n = Math.floor(n / alphabet.length);
      } while (n > 0);
      const candidate = s.length < name.length ? s.padStart(name.length, '_') : s;
      if (!used.has(candidate)) {
        fresh = candidate;
        break;
      }
    }
    used.add(fresh);
    edits.push({ start: span.start, end: span.end, text: fresh });
  }
  return edits;
}

function namesFromRe2(re: RE2JS): string[] {
  const names: string[] = new Array(re.groupCount() + 1).fill('');
  for (const [n, i] of Object.entries(re.namedGroups())) names[i] = n;
  return names;
}

/**
 * Error messages quote the (anchored) text re2js saw: show the user's text instead. The edits (an escaped `[`,
 * renamed duplicate groups, the marker) are the same length or end a class, so a message quoting a token or
 * a tail of the text is already right; only whole-text quotes need mapping.
 */
function mapMessage(msg: string, seen: string, original: string): string {
  return seen === original ? msg : msg.split(seen).join(original);
}
