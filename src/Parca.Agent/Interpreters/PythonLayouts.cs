namespace Parca.Agent.Interpreters;

/// <summary>
/// CPython 3.8–3.13 structure offsets on x86-64 (glibc). Every value is offsetof/sizeof of the named field in that
/// version's headers (Include/internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h, Include/cpython/pystate.h,
/// code.h, frameobject.h, unicodeobject.h, bytesobject.h), computed by compiling those headers (3.8.18, 3.9.18,
/// 3.10.13, 3.11.7, 3.12.1, 3.13.0; Debian's 3.11.2 gives the same 3.11 values, also checked with gdb against
/// python3.11-dbg's DWARF). Offsets do not change within a minor version. Only 3.11 runs in CI (Debian 12's python3).
/// </summary>
internal static class PythonLayouts
{
    /// <summary>3.8 and 3.9 (identical for every field used): PyFrameObject chain, co_lnotab.</summary>
    private static readonly PythonLayout s_py38 = new()
    {
        Minor = 8,
        RuntimeInterpretersHead = 32,  // _PyRuntimeState.interpreters.head (pycore_runtime.h / pystate.h)
        InterpreterThreadsHead = 8,    // PyInterpreterState.tstate_head
        ThreadNext = 8,                // PyThreadState.next (cpython/pystate.h)
        ThreadId = 176,                // PyThreadState.thread_id
        ThreadFrame = 24,              // PyThreadState.frame (PyFrameObject *)
        FrameCode = 32,                // PyFrameObject.f_code (frameobject.h)
        FramePrevious = 24,            // PyFrameObject.f_back
        FrameInstruction = 104,        // PyFrameObject.f_lasti (int, byte offset)
        InstructionIsPointer = false,
        CodeFirstLine = 40,            // PyCodeObject.co_firstlineno (code.h)
        CodeFilename = 104,            // PyCodeObject.co_filename
        CodeName = 112,                // PyCodeObject.co_name
        CodeLineTable = 120,           // PyCodeObject.co_lnotab
        LineFormat = PythonLineFormat.Lnotab,
        AsciiHeader = 48,              // sizeof(PyASCIIObject) (cpython/unicodeobject.h)
        CompactHeader = 72,            // sizeof(PyCompactUnicodeObject)
    };

    private static readonly PythonLayout s_py310 = s_py38 with
    {
        Minor = 10,
        FrameInstruction = 96,         // PyFrameObject.f_lasti (int, code units since 3.10)
        CodeLineTable = 120,           // PyCodeObject.co_linetable
        LineFormat = PythonLineFormat.Linetable310,
    };

    private static readonly PythonLayout s_py311 = new()
    {
        Minor = 11,
        RuntimeInterpretersHead = 40,  // _PyRuntimeState.interpreters.head (pycore_runtime.h)
        InterpreterThreadsHead = 16,   // PyInterpreterState.threads.head (pycore_interp.h)
        ThreadNext = 8,                // PyThreadState.next (cpython/pystate.h)
        ThreadId = 152,                // PyThreadState.thread_id
        ThreadFrame = 56,              // PyThreadState.cframe (_PyCFrame *)
        CFrameCurrentFrame = 8,        // _PyCFrame.current_frame
        FrameCode = 32,                // _PyInterpreterFrame.f_code (pycore_frame.h)
        FramePrevious = 48,            // _PyInterpreterFrame.previous
        FrameInstruction = 56,         // _PyInterpreterFrame.prev_instr (_Py_CODEUNIT *)
        FrameIsEntry = 68,             // _PyInterpreterFrame.is_entry
        FrameOwner = PythonLayout.None, // 3.11 has owner (69) but no C-stack frames: is_entry marks the loop's calls
        InstructionIsPointer = true,
        CodeAdaptive = 184,            // PyCodeObject.co_code_adaptive (cpython/code.h)
        CodeFirstLine = 72,            // PyCodeObject.co_firstlineno
        CodeFilename = 112,            // PyCodeObject.co_filename
        CodeName = 128,                // PyCodeObject.co_qualname
        CodeLineTable = 136,           // PyCodeObject.co_linetable
        LineFormat = PythonLineFormat.Locations311,
        AsciiHeader = 48,              // sizeof(PyASCIIObject)
        CompactHeader = 72,            // sizeof(PyCompactUnicodeObject)
    };

    private static readonly PythonLayout s_py312 = s_py311 with
    {
        Minor = 12,
        InterpreterThreadsHead = 72,   // PyInterpreterState.threads.head
        ThreadId = 136,                // PyThreadState.thread_id
        CFrameCurrentFrame = 0,        // _PyCFrame.current_frame
        FrameCode = 0,                 // _PyInterpreterFrame.f_code
        FramePrevious = 8,             // _PyInterpreterFrame.previous
        FrameInstruction = 56,         // _PyInterpreterFrame.prev_instr
        FrameIsEntry = PythonLayout.None,
        FrameOwner = 70,               // _PyInterpreterFrame.owner
        OwnerCStack = 3,               // FRAME_OWNED_BY_CSTACK: the loop's entry frame
        CodeAdaptive = 192,            // PyCodeObject.co_code_adaptive
        CodeFirstLine = 68,            // PyCodeObject.co_firstlineno
        AsciiHeader = 40,              // sizeof(PyASCIIObject) (wstr removed in 3.12)
        CompactHeader = 56,            // sizeof(PyCompactUnicodeObject)
    };

    private static readonly PythonLayout s_py313 = s_py312 with
    {
        Minor = 13,
        RuntimeInterpretersHead = 632, // _PyRuntimeState.interpreters.head
        InterpreterThreadsHead = 7344, // PyInterpreterState.threads.head
        ThreadId = 152,                // PyThreadState.thread_id
        ThreadFrame = 72,              // PyThreadState.current_frame (no _PyCFrame since 3.13)
        CFrameCurrentFrame = PythonLayout.None,
        FrameCode = 0,                 // _PyInterpreterFrame.f_executable
        FrameInstruction = 56,         // _PyInterpreterFrame.instr_ptr
        CodeAdaptive = 200,            // PyCodeObject.co_code_adaptive
    };

    /// <summary>The layout of CPython 3.<paramref name="minor"/>, or null for a version not in the table.</summary>
    public static PythonLayout? ForMinor(int minor) => minor switch
    {
        8 or 9 => s_py38 with { Minor = minor },
        10 => s_py310,
        11 => s_py311,
        12 => s_py312,
        13 => s_py313,
        _ => null,
    };
}
