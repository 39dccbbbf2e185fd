/* regular_file.h — opening an input that must be a regular file (a
 * checkpoint, a data file): a FIFO would block the open or the read for
 * ever, a directory or a device would give a confusing error later. */
#ifndef NETC_RUNTIME_REGULAR_FILE_H
#define NETC_RUNTIME_REGULAR_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Open path for reading when it is a regular file: stat first (a FIFO is
 * refused before an open could wait for a writer), then open without
 * blocking and fstat the descriptor (the file may have been replaced in
 * between), then back to blocking reads.  Returns the descriptor, or -1
 * with "PATH: cannot open: ..." in err ("not a regular file (a FIFO)"
 * and so on). */
int rt_open_regular(const char *path, char *err, size_t errlen);

/* rt_open_regular as a stdio stream ("rb"); NULL with the message in err. */
FILE *rt_fopen_regular(const char *path, char *err, size_t errlen);

#endif
