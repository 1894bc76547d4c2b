import Foundation
import OPTData

extension TemplateValue {
    /// A dataset value as a template sees it, as `datasets` hands rows to Jinja: ClassLabels as ints, a
    /// `Sequence` of dicts as a dict of lists, records as ordered dicts.
    public init(_ value: DatasetValue) {
        switch value {
        case .null: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(Int(number))
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .list(let items): self = .array(items.map(TemplateValue.init))
        case .record(let row): self = .mapping(row.fields.map { ($0.key, TemplateValue($0.value)) })
        // Binary columns reach templates as text (no PromptSource dataset has one).
        case .bytes(let bytes): self = .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// JSON text with Python's `json` semantics (key order, `1` an int and `1.0` a float).
    public init(json text: String) throws(DataError) {
        self.init(try JSONDocument.parse(Data(text.utf8), file: "<json>"))
    }

    /// A row's columns as a template's variables.
    public static func variables(_ row: DatasetRow) -> [String: TemplateValue] {
        var variables: [String: TemplateValue] = [:]
        for (key, value) in row.fields { variables[key] = TemplateValue(value) }
        return variables
    }
}
