using System.Text;

namespace DeepSeek.Search.Text.Tokenization.ByteLevelBpe;

/// <summary>
/// GPT-2's byte-level alphabet (<c>bytes_to_unicode</c>): every byte 0..255 is one printable character, so a BPE vocabulary of
/// strings covers any UTF-8 input. The <see cref="ByteLevelPreTokenizer"/> maps bytes to characters, the <see cref="ByteLevelDecoder"/>
/// maps them back.
/// </summary>
internal static class ByteLevel
{
    /// <summary>The GPT-2 word pattern a <c>ByteLevel</c> pre-tokenizer splits on when <c>use_regex</c> is set.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    /// <summary>The 256 characters the bytes 0..255 map to, in byte order.</summary>
    public static IReadOnlyList<char> Alphabet => ByteToChar;

    /// <summary>The UTF-8 bytes of <paramref name="s"/>, one alphabet character each.</summary>
    public static string Encode(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The byte an alphabet character stands for; false for a character outside the alphabet.</summary>
    public static bool TryGetByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);

    /// <summary>Printable bytes map to themselves, the others to U+0100 onwards.</summary>
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }
}
