" netc specs: *.net files.
au BufRead,BufNewFile *.net setfiletype netc
