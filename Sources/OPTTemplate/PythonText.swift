/// Python's `str` semantics for callers outside templates (PromptSource strips what it renders).
public enum PythonText {
    /// `text.strip()`: Python's whitespace (`str.isspace`) removed from both ends.
    public static func strip(_ text: String) -> String { pyStrip(text, nil, left: true, right: true) }
}
