using System.Text.RegularExpressions;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// A call into native FAISS failed. Carries the shim's status <see cref="Code"/>, the native operation, and FAISS's own
/// message (<see cref="NativeMessage"/>); C++ exceptions are caught inside the shim and arrive here, never as a crash.
/// <see cref="Exception.Message"/> is one line: the operation, the code, and FAISS's message without its
/// "Error in &lt;C++ function&gt; at &lt;file&gt;:&lt;line&gt;:" prefix (which stays in <see cref="NativeMessage"/>).
/// </summary>
public sealed partial class FaissNativeException : SearchException
{
    public FaissErrorCode Code { get; }
    public string Operation { get; }
    public string NativeMessage { get; }

    public FaissNativeException(FaissErrorCode code, string operation, string nativeMessage)
        : base($"FAISS {operation} failed ({code}): {Summarize(nativeMessage)}")
    {
        Code = code;
        Operation = operation;
        NativeMessage = nativeMessage;
    }

    /// <summary>FAISS's message on one line, without the C++ location prefix FAISS puts in front of it.</summary>
    public static string Summarize(string nativeMessage)
    {
        if (string.IsNullOrWhiteSpace(nativeMessage)) return "(no message)";
        string line = nativeMessage.Trim().ReplaceLineEndings(" ");
        string stripped = LocationPrefix().Replace(line, "", 1);
        return stripped.Length > 0 ? stripped : line;
    }

    [GeneratedRegex(@"^Error in .+? at \S+:\d+: ")]
    private static partial Regex LocationPrefix();
}
