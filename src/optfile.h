/* The files and directories that options name (cert, key, CAfile, CRLfile, PSKsecrets, ticketKeyFile;
 * CApath, CRLpath): opened after checking what they are, so a directory given as a file, or a file as a
 * directory, is refused in words rather than handed to a parser (mbedTLS takes a directory's size for
 * a file's and asks for a 2^63-byte buffer). */
#ifndef TLSWRAP_OPTFILE_H
#define TLSWRAP_OPTFILE_H

#include <stddef.h>
#include <stdio.h>

/* optfile_open: PATH, named by the option WHAT, opened for reading (close-on-exec). NULL, with
 * "WHAT PATH: reason" in ERR (ERRLEN bytes), when it cannot be opened or is not a regular file; a FIFO
 * is refused without waiting for a writer. */
FILE *optfile_open(const char *what, const char *path, char *err, size_t errlen);

/* optfile_check: the same check for a parser that opens PATH itself: 0, or -1 with ERR set. */
int optfile_check(const char *what, const char *path, char *err, size_t errlen);

/* optfile_check_dir: PATH, named by the option WHAT, is a directory that can be read: 0, or -1 with
 * "WHAT PATH: reason" in ERR. */
int optfile_check_dir(const char *what, const char *path, char *err, size_t errlen);

#endif
