/* The C twin of Tally.add's counting (sidecars/nginxlog/tally.py): each parsed row is
 * counted under its kept fields joined by a newline, and its size fields (runs of ASCII
 * digits) are added to per-row-key sums, in one pass without a Python loop. A row with a
 * size that is not such a run is handed back for the Python twin to judge, so both give
 * the same results (tests/nginxlog/test_tally_twins.py).
 *
 * And the C twin of the regex for formats whose expression never backtracks (the steps of
 * logformat.py's Pattern): each line is matched alone, as the regex path's result is, and
 * count_lines feeds the matches straight into the counting, so rows never become tuples
 * (tests/nginxlog/test_scan_twins.py holds both equal to the regex). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_SIZES 8

enum { LITERAL, RUN, REST, TIME, LIST, ESCAPED, REQUEST, ESCAPED_REQUEST, KINDS };

#define MAX_STEPS 256
#define MAX_WIDTH 64

typedef struct {
    int kind;
    const char *text;
    Py_ssize_t length;
    Py_ssize_t first, second;
} Step;

typedef struct {
    const char *start;
    Py_ssize_t length;
} Span;

typedef struct {
    Step steps[MAX_STEPS];
    Py_ssize_t count, width;
} Program;

/* steps: the tuple of (kind, text, first, second) that Pattern.steps holds; the texts are
 * borrowed from it, which the caller keeps alive for the call. */
static int
read_program(PyObject *steps, Py_ssize_t width, Program *program)
{
    if (!PyTuple_Check(steps) || PyTuple_GET_SIZE(steps) > MAX_STEPS || width < 0 ||
        width > MAX_WIDTH) {
        PyErr_SetString(PyExc_ValueError, "steps: a tuple of at most 256; width at most 64");
        return -1;
    }
    program->count = PyTuple_GET_SIZE(steps);
    program->width = width;
    for (Py_ssize_t i = 0; i < program->count; i++) {
        Step *step = &program->steps[i];
        int kind;
        PyObject *text;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(steps, i),
                              "iSnn;a step is (kind, text, first, second)", &kind, &text,
                              &step->first, &step->second))
            return -1;
        step->kind = kind;
        step->text = PyBytes_AS_STRING(text);
        step->length = PyBytes_GET_SIZE(text);
        int needs_text = kind == LITERAL || kind == RUN || kind == ESCAPED ||
                         kind == REQUEST || kind == ESCAPED_REQUEST;
        if (kind < 0 || kind >= KINDS || (needs_text && step->length == 0) ||
            step->first < -1 || step->first >= width || step->second < -1 ||
            step->second >= width) {
            PyErr_SetString(PyExc_ValueError, "a step's kind, text or row positions are wrong");
            return -1;
        }
    }
    return 0;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* [0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4} */
static const char *
time_local(const char *p, const char *end)
{
    static const char shape[] = "dd/aaa/dddd:dd:dd:dd sdddd";
    if (end - p < (Py_ssize_t)sizeof(shape) - 1)
        return NULL;
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        char want = shape[i], c = p[i];
        int ok = want == 'd' ? is_digit(c)
                 : want == 'a' ? is_alpha(c)
                 : want == 's' ? (c == '+' || c == '-')
                               : c == want;
        if (!ok)
            return NULL;
    }
    return p + sizeof(shape) - 1;
}

/* [^ ,]++ : where a run of one or more such bytes ends, or NULL */
static const char *
list_item(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && *q != ' ' && *q != ',')
        q++;
    return q > p ? q : NULL;
}

/* item(?:(?:, | : )item)*+ */
static const char *
list_value(const char *p, const char *end)
{
    p = list_item(p, end);
    while (p != NULL) {
        const char *after = NULL;
        if (end - p >= 2 && p[0] == ',' && p[1] == ' ')
            after = list_item(p + 2, end);
        else if (end - p >= 3 && p[0] == ' ' && p[1] == ':' && p[2] == ' ')
            after = list_item(p + 3, end);
        if (after == NULL)
            return p;
        p = after;
    }
    return NULL;
}

/* (?:[^"\\]|\\.)*+, or (?:[^ "\\]|\\.)*+ with space_too: where it ends */
static const char *
escaped(const char *p, const char *end, int space_too)
{
    while (p < end) {
        char c = *p;
        if (c == '\\') {
            if (end - p < 2)
                return p;
            p += 2;
        } else if (c == '"' || (space_too && c == ' ')) {
            return p;
        } else {
            p++;
        }
    }
    return p;
}

/* [^stop]*+, or [^ stop]*+ with space_too: where it ends */
static const char *
run(const char *p, const char *end, char stop, int space_too)
{
    while (p < end && *p != stop && !(space_too && *p == ' '))
        p++;
    return p;
}

static void
capture(Span *spans, Py_ssize_t at, const char *start, const char *stop)
{
    if (at >= 0) {
        spans[at].start = start;
        spans[at].length = stop - start;
    }
}

/* Whether the line (without its newline) matches; the captured values into spans. A run
 * that meets the line's end fails at once: a literal always follows it. */
static int
match_line(const Program *program, const char *p, const char *end, Span *spans)
{
    for (Py_ssize_t i = 0; i < program->width; i++) {
        spans[i].start = p;
        spans[i].length = 0;
    }
    for (Py_ssize_t i = 0; i < program->count; i++) {
        const Step *step = &program->steps[i];
        const char *start = p;
        switch (step->kind) {
        case LITERAL:
            if (end - p < step->length || memcmp(p, step->text, step->length) != 0)
                return 0;
            p += step->length;
            continue;
        case RUN:
            p = memchr(p, step->text[0], end - p);
            break;
        case REST:
            p = end;
            break;
        case TIME:
            p = time_local(p, end);
            break;
        case LIST:
            p = list_value(p, end);
            break;
        case ESCAPED:
            p = escaped(p, end, 0);
            break;
        case REQUEST:
        case ESCAPED_REQUEST: {
            /* (word)(?: (word))?rest, word stopping at a space too */
            int json = step->kind == ESCAPED_REQUEST;
            char stop = step->text[0];
            p = json ? escaped(p, end, 1) : run(p, end, stop, 1);
            capture(spans, step->first, start, p);
            if (p < end && *p == ' ') {
                const char *path = p + 1;
                p = json ? escaped(path, end, 1) : run(path, end, stop, 1);
                capture(spans, step->second, path, p);
            }
            p = json ? escaped(p, end, 0) : run(p, end, stop, 0);
            if (p == end)
                return 0;
            continue;
        }
        }
        if (p == NULL)
            return 0;
        capture(spans, step->first, start, p);
    }
    return p == end;
}

/* A run of 1 to 18 ASCII digits, as int() would read it; else 0 and Python judges. */
static int
digits(const Span *value, unsigned long long *out)
{
    if (value->length == 0 || value->length > 18)
        return 0;
    unsigned long long total = 0;
    for (Py_ssize_t i = 0; i < value->length; i++) {
        unsigned char c = (unsigned char)value->start[i];
        if (c < '0' || c > '9')
            return 0;
        total = total * 10 + (c - '0');
    }
    *out = total;
    return 1;
}

static int
add(PyObject *dict, PyObject *key, Py_hash_t hash, PyObject *amount)
{
    PyObject *old = _PyDict_GetItem_KnownHash(dict, key, hash);
    if (old == NULL && PyErr_Occurred())
        return -1;
    PyObject *sum = old == NULL ? Py_NewRef(amount) : PyNumber_Add(old, amount);
    if (sum == NULL)
        return -1;
    int status = _PyDict_SetItem_KnownHash(dict, key, sum, hash);
    Py_DECREF(sum);
    return status;
}

/* Where rows are counted: Tally's counter, its sums and which fields go where. */
typedef struct {
    PyObject *rows, *sums, *one;
    Py_ssize_t kept[MAX_WIDTH], nkept;
    Py_ssize_t sizes[MAX_SIZES], nsizes;
    Py_ssize_t width; /* fields a row needs at least */
} Counting;

/* 0, or 1 when rows are too wide to count here (the caller leaves them to Python), or -1 */
static int
read_counting(PyObject *rows, PyObject *kept, PyObject *sums, PyObject *sizes, Py_ssize_t width,
              Counting *counting)
{
    counting->rows = rows;
    counting->sums = sums;
    counting->nsizes = PyTuple_GET_SIZE(sizes);
    if (PyList_GET_SIZE(sums) != counting->nsizes || counting->nsizes > MAX_SIZES ||
        (kept != Py_None && !PyTuple_Check(kept))) {
        PyErr_SetString(PyExc_ValueError, "one sums dict per size field; kept a tuple or None");
        return -1;
    }
    if ((kept == Py_None ? width : PyTuple_GET_SIZE(kept)) > MAX_WIDTH)
        return 1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(sums); i++) {
        if (!PyDict_Check(PyList_GET_ITEM(sums, i))) {
            PyErr_SetString(PyExc_TypeError, "sums are dicts");
            return -1;
        }
    }
    counting->width = 0;
    for (Py_ssize_t i = 0; i < counting->nsizes; i++) {
        counting->sizes[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(sizes, i));
        if (counting->sizes[i] + 1 > counting->width)
            counting->width = counting->sizes[i] + 1;
    }
    counting->nkept = kept == Py_None ? width : PyTuple_GET_SIZE(kept);
    for (Py_ssize_t i = 0; i < counting->nkept; i++) {
        counting->kept[i] = kept == Py_None ? i : PyLong_AsSsize_t(PyTuple_GET_ITEM(kept, i));
        if (counting->kept[i] + 1 > counting->width)
            counting->width = counting->kept[i] + 1;
    }
    if (PyErr_Occurred())
        return -1;
    for (Py_ssize_t i = 0; i < counting->nsizes; i++) {
        if (counting->sizes[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "field positions are not negative");
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < counting->nkept; i++) {
        if (counting->kept[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "field positions are not negative");
            return -1;
        }
    }
    return counting->width > MAX_WIDTH;
}

/* Count one row: 0, or 1 when a size is not plain digits (the caller hands the row to
 * Python), or -1 on an error. */
static int
count_row(Counting *counting, const Span *values)
{
    unsigned long long amounts[MAX_SIZES];
    for (Py_ssize_t i = 0; i < counting->nsizes; i++)
        if (!digits(&values[counting->sizes[i]], &amounts[i]))
            return 1;
    Py_ssize_t length = counting->nkept > 0 ? counting->nkept - 1 : 0;
    for (Py_ssize_t i = 0; i < counting->nkept; i++)
        length += values[counting->kept[i]].length;
    PyObject *key = PyBytes_FromStringAndSize(NULL, length);
    if (key == NULL)
        return -1;
    char *out = PyBytes_AS_STRING(key);
    for (Py_ssize_t i = 0; i < counting->nkept; i++) {
        const Span *value = &values[counting->kept[i]];
        if (i > 0)
            *out++ = '\n';
        memcpy(out, value->start, value->length);
        out += value->length;
    }
    Py_hash_t hash = PyObject_Hash(key);
    int status = hash == -1 ? -1 : add(counting->rows, key, hash, counting->one);
    for (Py_ssize_t i = 0; i < counting->nsizes && status == 0; i++) {
        PyObject *amount = PyLong_FromUnsignedLongLong(amounts[i]);
        status = amount == NULL ? -1 : add(PyList_GET_ITEM(counting->sums, i), key, hash, amount);
        Py_XDECREF(amount);
    }
    Py_DECREF(key);
    return status;
}

/* add_rows(found, rows, kept, sums, sizes) -> rows left to the caller */
static PyObject *
add_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *found, *rows, *kept, *sums, *sizes;
    if (!PyArg_ParseTuple(args, "O!O!OO!O!", &PyList_Type, &found, &PyDict_Type, &rows, &kept,
                          &PyList_Type, &sums, &PyTuple_Type, &sizes))
        return NULL;
    Counting counting;
    Py_ssize_t width = MAX_WIDTH;
    if (kept == Py_None && PyList_GET_SIZE(found) > 0) {
        PyObject *row = PyList_GET_ITEM(found, 0);
        width = PyTuple_Check(row) ? PyTuple_GET_SIZE(row) : 0;
    }
    int wide = read_counting(rows, kept, sums, sizes, width, &counting);
    if (wide != 0)
        return wide < 0 ? NULL : PyList_GetSlice(found, 0, PyList_GET_SIZE(found));
    PyObject *left = PyList_New(0);
    counting.one = PyLong_FromLong(1);
    if (left == NULL || counting.one == NULL)
        goto error;
    for (Py_ssize_t r = 0; r < PyList_GET_SIZE(found); r++) {
        PyObject *row = PyList_GET_ITEM(found, r);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < counting.width ||
            (kept == Py_None && PyTuple_GET_SIZE(row) != counting.nkept)) {
            PyErr_SetString(PyExc_TypeError, "rows are tuples of the parser's fields");
            goto error;
        }
        Span values[MAX_WIDTH];
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(row) && i < MAX_WIDTH; i++) {
            PyObject *item = PyTuple_GET_ITEM(row, i);
            if (!PyBytes_Check(item)) {
                PyErr_SetString(PyExc_TypeError, "row fields are bytes");
                goto error;
            }
            values[i].start = PyBytes_AS_STRING(item);
            values[i].length = PyBytes_GET_SIZE(item);
        }
        int status = count_row(&counting, values);
        if (status < 0 || (status == 1 && PyList_Append(left, row) < 0))
            goto error;
    }
    Py_DECREF(counting.one);
    return left;
error:
    Py_XDECREF(left);
    Py_XDECREF(counting.one);
    return NULL;
}

static PyObject *
row_tuple(const Span *values, Py_ssize_t width)
{
    PyObject *row = PyTuple_New(width);
    if (row == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < width; i++) {
        PyObject *value = PyBytes_FromStringAndSize(values[i].start, values[i].length);
        if (value == NULL) {
            Py_DECREF(row);
            return NULL;
        }
        PyTuple_SET_ITEM(row, i, value);
    }
    return row;
}

static int
append_line(PyObject *bad, const char *line, const char *end)
{
    PyObject *text = PyBytes_FromStringAndSize(line, end - line);
    int status = text == NULL ? -1 : PyList_Append(bad, text);
    Py_XDECREF(text);
    return status;
}

/* Each whole line of chunk[:end] matched alone (text after the last newline is no line):
 * counted when counting is given, else its row appended to found; lines that do not match
 * appended to bad. The line count. */
static Py_ssize_t
scan(const Program *program, Py_buffer *chunk, Py_ssize_t end, PyObject *found, PyObject *bad,
     Counting *counting)
{
    if (end < 0 || end > chunk->len) {
        PyErr_SetString(PyExc_ValueError, "end is past the chunk");
        return -1;
    }
    const char *p = chunk->buf, *stop = p + end;
    Py_ssize_t lines = 0;
    Span values[MAX_WIDTH];
    const char *newline;
    while (p < stop && (newline = memchr(p, '\n', stop - p)) != NULL) {
        lines++;
        if (!match_line(program, p, newline, values)) {
            if (append_line(bad, p, newline) < 0)
                return -1;
        } else {
            int status = counting == NULL ? 1 : count_row(counting, values);
            if (status < 0)
                return -1;
            if (status == 1) {
                PyObject *row = row_tuple(values, program->width);
                status = row == NULL ? -1 : PyList_Append(found, row);
                Py_XDECREF(row);
                if (status < 0)
                    return -1;
            }
        }
        p = newline + 1;
    }
    return lines;
}

/* scan_rows(steps, width, chunk, end, found, bad) -> lines */
static PyObject *
scan_rows(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *steps, *found, *bad;
    Py_ssize_t width, end;
    Py_buffer chunk;
    if (!PyArg_ParseTuple(args, "Ony*nO!O!", &steps, &width, &chunk, &end, &PyList_Type, &found,
                          &PyList_Type, &bad))
        return NULL;
    Program program;
    Py_ssize_t lines = read_program(steps, width, &program) < 0
                           ? -1
                           : scan(&program, &chunk, end, found, bad, NULL);
    PyBuffer_Release(&chunk);
    return lines < 0 ? NULL : PyLong_FromSsize_t(lines);
}

/* count_lines(steps, width, chunk, end, bad, rows, kept, sums, sizes) -> (lines, left):
 * scan_rows and add_rows in one pass */
static PyObject *
count_lines(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *steps, *bad, *rows, *kept, *sums, *sizes;
    Py_ssize_t width, end;
    Py_buffer chunk;
    if (!PyArg_ParseTuple(args, "Ony*nO!O!OO!O!", &steps, &width, &chunk, &end, &PyList_Type,
                          &bad, &PyDict_Type, &rows, &kept, &PyList_Type, &sums, &PyTuple_Type,
                          &sizes))
        return NULL;
    Program program;
    Counting counting;
    PyObject *left = NULL, *result = NULL;
    counting.one = NULL;
    if (read_program(steps, width, &program) < 0)
        goto done;
    int wide = read_counting(rows, kept, sums, sizes, width, &counting);
    if (wide < 0)
        goto done;
    if (wide > 0 || counting.width > width) {
        PyErr_SetString(PyExc_ValueError, "kept or sizes name a field past the row's width");
        goto done;
    }
    left = PyList_New(0);
    counting.one = PyLong_FromLong(1);
    if (left == NULL || counting.one == NULL)
        goto done;
    Py_ssize_t lines = scan(&program, &chunk, end, left, bad, &counting);
    if (lines >= 0)
        result = Py_BuildValue("nO", lines, left);
done:
    PyBuffer_Release(&chunk);
    Py_XDECREF(left);
    Py_XDECREF(counting.one);
    return result;
}

static PyMethodDef methods[] = {
    {"add_rows", add_rows, METH_VARARGS,
     "add_rows(found, rows, kept, sums, sizes) -> rows whose sizes are not plain digits"},
    {"scan_rows", scan_rows, METH_VARARGS,
     "scan_rows(steps, width, chunk, end, found, bad) -> lines: the regex's rows, in C"},
    {"count_lines", count_lines, METH_VARARGS,
     "count_lines(steps, width, chunk, end, bad, rows, kept, sums, sizes) -> (lines, rows "
     "whose sizes are not plain digits): scan_rows and add_rows in one pass"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tally", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__tally(void)
{
    return PyModule_Create(&module);
}
