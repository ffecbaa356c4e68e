/**
 * Text for the classic UI's pages, escaped as Go's html/template escapes it (those pages are its output, and kvass
 * writes parts of them): `&`, `<`, `>`, quotes and `+`.
 */
export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;').replace(/\+/g, '&#43;');
