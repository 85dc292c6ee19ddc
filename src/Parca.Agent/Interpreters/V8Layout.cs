namespace Parca.Agent.Interpreters;

/// <summary>
/// Where V8 keeps what names a JavaScript frame, as one process's V8 describes itself: every value but the
/// ScopeInfo flag bits is the process's own <c>v8dbg_*</c> post-mortem constant (read by <see cref="V8Detector"/>
/// from its memory, since a third of them are set by a static initializer), so a V8 of another minor version with
/// the same object model is read right. The ScopeInfo flag bits are not exported; they are V8 11's
/// (src/objects/scope-info.tq as node 20 builds it), which is why only V8 11 is accepted.
/// </summary>
internal sealed record V8Layout
{
    /// <summary>Frame slots relative to the frame pointer (negative).</summary>
    public required int FpFunction { get; init; }

    public required int FpContext { get; init; }

    public required int FunctionShared { get; init; }

    public required int SharedNameOrScopeInfo { get; init; }

    public required int SharedScriptOrDebugInfo { get; init; }

    public required int ScriptName { get; init; }

    public required int ScriptSource { get; init; }

    public required int HeapObjectMap { get; init; }

    public required int MapInstanceType { get; init; }

    public required int StringLength { get; init; }

    public required int SeqOneByteChars { get; init; }

    public required int SeqTwoByteChars { get; init; }

    public required int ConsFirst { get; init; }

    public required int ConsSecond { get; init; }

    public required int ThinActual { get; init; }

    public required int FirstNonstringType { get; init; }

    public required int StringRepresentationMask { get; init; }

    public required int SeqStringTag { get; init; }

    public required int ConsStringTag { get; init; }

    public required int ThinStringTag { get; init; }

    public required int StringEncodingMask { get; init; }

    public required int OneByteStringTag { get; init; }

    public required int SharedFunctionInfoType { get; init; }

    public required int ScopeInfoType { get; init; }

    public required int ScriptType { get; init; }

    /// <summary>ScopeInfo slot of the context local count; the locals' names start at <see cref="ScopeInfoFirstVars"/>.</summary>
    public required int ScopeInfoContextLocals { get; init; }

    public required int ScopeInfoFirstVars { get; init; }

    /// <summary>V8 11 ScopeFlags: has_saved_class_variable (bit 10), function_variable (bits 12-13), has_inferred_function_name (bit 14).</summary>
    public int SavedClassVariableBit { get; init; } = 10;

    public int FunctionVariableShift { get; init; } = 12;

    public int InferredNameBit { get; init; } = 14;

    /// <summary>Context locals from this count on are in a hash table (one slot) instead of inline (kScopeInfoMaxInlinedLocalNamesSize).</summary>
    public int MaxInlinedLocalNames { get; init; } = 75;

    /// <summary>The v8dbg_* names each property comes from, in the order <see cref="V8Detector"/> reads them.</summary>
    public static readonly string[] Symbols =
    [
        "v8dbg_off_fp_function", "v8dbg_off_fp_context_or_frame_type", "v8dbg_class_JSFunction__shared__SharedFunctionInfo",
        "v8dbg_class_SharedFunctionInfo__name_or_scope_info__Object", "v8dbg_class_SharedFunctionInfo__script_or_debug_info__HeapObject",
        "v8dbg_class_Script__name__Object", "v8dbg_class_Script__source__Object", "v8dbg_class_HeapObject__map__Map",
        "v8dbg_class_Map__instance_type__uint16_t", "v8dbg_class_String__length__int32_t", "v8dbg_class_SeqOneByteString__chars__char",
        "v8dbg_class_SeqTwoByteString__chars__char", "v8dbg_class_ConsString__first__String", "v8dbg_class_ConsString__second__String",
        "v8dbg_class_ThinString__actual__String", "v8dbg_FirstNonstringType", "v8dbg_StringRepresentationMask", "v8dbg_SeqStringTag",
        "v8dbg_ConsStringTag", "v8dbg_ThinStringTag", "v8dbg_StringEncodingMask", "v8dbg_OneByteStringTag",
        "v8dbg_type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE", "v8dbg_type_ScopeInfo__SCOPE_INFO_TYPE", "v8dbg_type_Script__SCRIPT_TYPE",
        "v8dbg_scopeinfo_idx_ncontextlocals", "v8dbg_scopeinfo_idx_first_vars",
    ];

    /// <summary>The layout from the values of <see cref="Symbols"/>, in that order.</summary>
    public static V8Layout From(ReadOnlySpan<int> v) => new()
    {
        FpFunction = v[0],
        FpContext = v[1],
        FunctionShared = v[2],
        SharedNameOrScopeInfo = v[3],
        SharedScriptOrDebugInfo = v[4],
        ScriptName = v[5],
        ScriptSource = v[6],
        HeapObjectMap = v[7],
        MapInstanceType = v[8],
        StringLength = v[9],
        SeqOneByteChars = v[10],
        SeqTwoByteChars = v[11],
        ConsFirst = v[12],
        ConsSecond = v[13],
        ThinActual = v[14],
        FirstNonstringType = v[15],
        StringRepresentationMask = v[16],
        SeqStringTag = v[17],
        ConsStringTag = v[18],
        ThinStringTag = v[19],
        StringEncodingMask = v[20],
        OneByteStringTag = v[21],
        SharedFunctionInfoType = v[22],
        ScopeInfoType = v[23],
        ScriptType = v[24],
        ScopeInfoContextLocals = v[25],
        ScopeInfoFirstVars = v[26],
    };
}
