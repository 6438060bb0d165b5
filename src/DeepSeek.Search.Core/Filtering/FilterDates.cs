namespace DeepSeek.Search.Core.Filtering;

/// <summary>
/// The one date format of filters and metadata, a strict subset of ISO 8601: a date <c>YYYY-MM-DD</c> (its midnight, UTC), or a
/// date-time <c>YYYY-MM-DDThh:mm</c>, optionally <c>:ss</c> and a fraction of 1–7 digits (<c>.fffffff</c>), optionally followed by
/// <c>Z</c> or an offset <c>±hh:mm</c> (at most 14:00); a date-time without <c>Z</c> or offset is UTC. <c>T</c> and <c>Z</c> are
/// upper case; years run 0001–9999. A filter's bare date literal and a metadata string in this format compare as the UTC
/// instant they denote (so <c>2024-01-31</c>, <c>2024-01-31T00:00:00Z</c> and <c>2024-01-31T02:00+02:00</c> are equal).
/// </summary>
public static class FilterDates
{
    /// <summary>Whether <paramref name="text"/> is in the format; <paramref name="instant"/> is then its UTC instant (offset zero).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset instant)
    {
        instant = default;
        var s = text;
        if (s.Length < 10 || !Digits(s, 0, 4, out int year) || s[4] != '-' || !Digits(s, 5, 2, out int month) || s[7] != '-'
            || !Digits(s, 8, 2, out int day))
            return false;
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return false;
        long ticks = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc).Ticks;
        if (s.Length == 10)
        {
            instant = new DateTimeOffset(ticks, TimeSpan.Zero);
            return true;
        }

        if (s.Length < 16 || s[10] != 'T' || !Digits(s, 11, 2, out int hour) || s[13] != ':' || !Digits(s, 14, 2, out int minute)
            || hour > 23 || minute > 59)
            return false;
        ticks += hour * TimeSpan.TicksPerHour + minute * TimeSpan.TicksPerMinute;
        int i = 16;
        if (i < s.Length && s[i] == ':')
        {
            if (!Digits(s, i + 1, 2, out int second) || second > 59) return false;
            ticks += second * TimeSpan.TicksPerSecond;
            i += 3;
            if (i < s.Length && s[i] == '.')
            {
                int start = ++i;
                long fraction = 0;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    if (i - start == 7) return false;
                    fraction = fraction * 10 + (s[i] - '0');
                    i++;
                }
                if (i == start) return false;
                for (int n = i - start; n < 7; n++) fraction *= 10;
                ticks += fraction;
            }
        }

        long offset = 0;
        if (i < s.Length && s[i] == 'Z') i++;
        else if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            if (!Digits(s, i + 1, 2, out int oh) || i + 3 >= s.Length || s[i + 3] != ':' || !Digits(s, i + 4, 2, out int om)
                || om > 59 || oh * 60 + om > 14 * 60)
                return false;
            offset = (oh * TimeSpan.TicksPerHour + om * TimeSpan.TicksPerMinute) * (s[i] == '-' ? -1 : 1);
            i += 6;
        }
        if (i != s.Length) return false;
        long utc = ticks - offset;
        if (utc < DateTime.MinValue.Ticks || utc > DateTime.MaxValue.Ticks) return false;
        instant = new DateTimeOffset(utc, TimeSpan.Zero);
        return true;
    }

    /// <summary>The canonical text of <paramref name="instant"/>: <c>YYYY-MM-DD</c> at midnight UTC, else <c>YYYY-MM-DDThh:mm:ss[.f]Z</c>.</summary>
    public static string Format(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        return utc.TimeOfDay == TimeSpan.Zero
            ? utc.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
    }

    static bool Digits(ReadOnlySpan<char> s, int at, int count, out int value)
    {
        value = 0;
        if (at + count > s.Length) return false;
        for (int k = at; k < at + count; k++)
        {
            if (!char.IsAsciiDigit(s[k])) return false;
            value = value * 10 + (s[k] - '0');
        }
        return true;
    }
}
