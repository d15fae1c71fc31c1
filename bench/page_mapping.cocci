// Every code use of struct page's `mapping` member, typed (issue 5's reference).
// Run with --recursive-includes so that spatch knows the type of
// bh->b_page, bvec->bv_page and the like.  Prints "USE file:line:column"
// (column 0-based, of the member name) for each match.
@r@
struct page *p;
struct page pg;
position pos;
@@
(
 p->mapping@pos
|
 pg.mapping@pos
)

@script:python@
pos << r.pos;
@@
for q in pos:
    print("USE %s:%s:%s" % (q.file, q.line, q.column))
