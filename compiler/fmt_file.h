/* fmt_file.h — `netc fmt` on one file: check or rewrite it in place. */
#ifndef NETC_COMPILER_FMT_FILE_H
#define NETC_COMPILER_FMT_FILE_H

/* Format the spec at path (grammar/fmt.h).  check: write nothing and
 * return 3 when the file is not formatted.  Otherwise rewrite it when its
 * layout changes, through a temporary file in the same directory renamed
 * over it (so an interrupted run leaves the old file whole), keeping its
 * permissions.  Returns 0, 3 (check, not formatted), or 1 after reporting
 * why: the file cannot be read or written, or does not parse (its errors
 * as `netc check` prints them; the file is left as it was). */
int comp_fmt_file(const char *path, int check);

#endif
