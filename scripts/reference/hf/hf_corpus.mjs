// hf_corpus.mjs — writes tests/data/hf-corpus.json, the strings every
// vocabulary's tokens are compared on against Hugging Face's tokenizers
// (hf_tokens.mjs makes the reference ids, tests/unit/test_tokenizer_hf.c
// checks tinyllm). The output is deterministic: run it again after a change
// here and commit both the script and the file.
//
//   node hf_corpus.mjs > ../../../tests/data/hf-corpus.json
//
// Every string is valid UTF-8 (no lone surrogates) and holds no U+0000 (the
// C test reads the strings with cJSON, whose strings end at a NUL byte).
const cases = [];
const add = (...texts) => { for (const t of texts) cases.push(t); };

// Empty string, single characters.
add("", " ", "a", "A", "0", "!", ".", "\n", "\t", "é", "ß", "中", "あ", "한", "😀", "\u00A0", "\u3000");

// Latin with diacritics; NFC / NFD pairs (each in both forms).
const latin = [
  "café", "naïve", "jalapeño", "façade", "résumé", "crème brûlée", "São Paulo", "Ångström",
  "Grüße aus München! Die Straße ist schön.", "« Où est la bibliothèque » demanda-t-il.",
  "Tiếng Việt có nhiều dấu: ạ ả ấ ầ ẩ ẫ ậ.", "Čeština: příliš žluťoučký kůň úpěl ďábelské ódy.",
  "Polski: zażółć gęślą jaźń.", "Română: șți țară, şi ţară.", "Íslenska: þetta er ðæ.",
  "Türkçe: İstanbul ılık ığdır ÇĞÖŞÜ.", "Español: ¿Qué tal? ¡Muy bien!", "Ørsted Æble ŒUVRE œuvre ﬁ ﬂ",
];
for (const t of latin) add(t, t.normalize("NFD"));
add("e\u0301", "\u00E9", "a\u0308\u0301", "o\u0302\u0323", "n\u0303", "A\u030A", "\u212B", "\u2126",
    "x\u0301\u0302\u0303\u0304\u0305", "\u0301 leading mark", "q\u0307\u0323", "\u1E9B\u0323",
    "\uFB01", "\u2460 \u00BD \u2075 \u33A1", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ｶﾀｶﾅ ﾊﾟﾋﾟ");

// Other scripts (composed and decomposed where NFD changes them).
const scripts = [
  "Ελληνικά: Καλημέρα κόσμε, ΐ ΰ ώ.", "Русский: Съешь же ещё этих мягких французских булок.",
  "Українська: Ґанок, їжак, є.", "Български: Щастие, ѝ.", "Српски: Ђурђевдан, ћирилица.",
  "العربية: مرحبا بالعالم، كيف حالك؟", "العَرَبِيَّة مُشَكَّلَة", "فارسی: سلام دنیا ۱۲۳",
  "עברית: שלום עולם", "עִבְרִית מְנֻקֶּדֶת", "हिन्दी: नमस्ते दुनिया, क्षत्रिय।", "मराठी: महाराष्ट्र",
  "संस्कृतम्: धर्मक्षेत्रे कुरुक्षेत्रे", "বাংলা: আমার সোনার বাংলা", "ধন্যবাদ কৌশল",
  "தமிழ்: வணக்கம் உலகம், கௌ கொ", "తెలుగు: నమస్కారం", "ಕನ್ನಡ: ನಮಸ್ಕಾರ", "മലയാളം: നമസ്കാരം",
  "ગુજરાતી: નમસ્તે", "ਪੰਜਾਬੀ: ਸਤਿ ਸ੍ਰੀ ਅਕਾਲ", "ଓଡ଼ିଆ: ନମସ୍କାର", "සිංහල: ආයුබෝවන්",
  "ไทย: สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่าง", "ລາວ: ສະບາຍດີ", "ខ្មែរ: សួស្តី", "မြန်မာ: မင်္ဂလာပါ",
  "བོད་ཡིག: བཀྲ་ཤིས་བདེ་ལེགས།", "中文：你好，世界！我们来测试一下分词器。", "繁體中文：臺灣的風景很美麗。",
  "日本語：こんにちは、世界。カタカナとひらがなと漢字。", "ｶﾞｷﾞｸﾞ が ぎ ぐ", "한국어: 안녕하세요, 세계! 한글 자모 한",
  "ქართული: გამარჯობა მსოფლიო", "Հայերեն: Բարեւ աշխարհ", "አማርኛ: ሰላም ለዓለም", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ",
  "ᠮᠣᠩᠭᠣᠯ", "Ꭰ ꓐ ꔀ ꕉ", "𐌰𐌱𐌲 Gothic", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 𝟙𝟚𝟛", "ㄅㄆㄇ ㄈ", "ꀀꀁ Yi",
  "Hangul NFD 한국", "Tiếng Việt", "𠀀𠀁 𪜀 𫝀 𬺰 ext-B..F ideographs", "〇〡〢 々 〆",
];
for (const t of scripts) { add(t); const d = t.normalize("NFD"); if (d !== t) add(d); }
add("한국".normalize("NFD"), "가각".normalize("NFKD"), "\u1100\u1161\u11A8");

// Emoji: ZWJ sequences, skin tones, flags, keycaps, variation selectors.
add("👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🧑🏿‍🤝‍🧑🏻", "🏳️‍🌈", "🏴‍☠️", "🇫🇷🇩🇪🇯🇵", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "1️⃣ #️⃣ *️⃣", "❤️ ❤ ☺️", "Hello 😀😃😄 world 🎉!", "🤷‍♀️🤷🏼‍♂️", "🫠🫶🏾", "©️®️™️",
    "emoji👍in👍words", "😀😀😀😀😀😀😀😀😀😀");

// Whitespace runs.
add("a  b", "a   b", "    four", "trailing   ", "\t\ttabs\t", "a\tb\nc\r\nd", "\n\n\n", "\r\n\r\n",
    " \n \n ", "  \t \n", "line1\nline2\n\nline4", "a\u00A0b", "a\u00A0\u00A0b", "a\u3000b",
    "a\u2000\u2001\u2002\u2003b", "a\u2009b\u200Ac", "a\u202Fb\u205Fc", "a\u200Bb", "a\u2028b\u2029c",
    "a\u0085b", "\u000B\u000C", "x\u1680y", "   ", "\u3000\u3000", " leading", "trailing ",
    "a \u00A0 b", "\u00A0start", "end\u00A0");

// Control and format characters, noncharacters, private use, specials.
add("a\u0001b\u0002c", "\u007F del", "\u0080\u0081\u009F", "soft\u00ADhyphen", "zero\u200Dwidth\u200Cjoin",
    "bidi \u200E\u200F \u202A\u202E\u202C", "\uFEFFbom", "word\u2060joiner", "\uFFFD replacement",
    "\uFFFE \uFFFF", "\uFDD0\uFDEF", "\u{1FFFE}\u{10FFFF}", "\uE000\uF8FF", "\u{F0000}\u{100000}",
    "\u{E0001}\u{E0041}tags", "\uFE0F\uFE0E", "\u034F grapheme joiner", "\u0378\u0379 unassigned",
    "\u{E0100} variation", "\u2061\u2062\u2063", "\u061C arabic mark");

// Punctuation and symbols of every kind.
add("Hello, world!", "What?! No... Yes; maybe: (really) [sure] {ok}", "\"quoted\" 'single' `back`",
    "“curly” ‘quotes’ „low“ «guillemets» ‹single›", "dash - en – em — minus − hyphen ‐",
    "a/b\\c|d", "@#$%^&*_+=~", "<>", "x<y>z", "¿¡§¶•·…‰′″", "¢£¥€₹₽₩ 50€ $5", "±×÷√∞≠≈≤≥",
    "→←↑↓⇒⇔", "★☆♠♣♥♦", "°C °F µm Ω", "™®©", "。、！？「」『』【】", "，；：（）", "٪ ، ؛ ؟",
    "।॥", "။၊", "፡።፣", "־׳״", "...", "!!!", "???", "----", "____", "====", "***", "~~~",
    "''", "\"\"", "a'b", "don't won't can't I'm you're he's we've they'll I'd",
    "DON'T WON'T I'M", "'s 't 're 've 'm 'll 'd", "’s ’t", "rock'n'roll", "o'clock");

// Numbers.
add("0", "12", "123", "1234", "12345", "123456789", "1234567890123456789012345678901234567890",
    "3.14159", "-273.15", "1,000,000", "1e-9", "6.022e23", "0x1F 0b1010 0o17", "2024-06-30",
    "12:34:56", "v1.2.3", "100%", "١٢٣٤٥", "۱۲۳", "१२३४", "১২৩", "๑๒๓", "一二三 壹贰叁", "Ⅻ ⅻ",
    "½ ¾ ⅓", "²³¹", "₀₁₂", "①②③", "phone: +1 (555) 123-4567", "3 apples and 14 pears",
    "a1b2c3", "abc123def", "１２３４５");

// Code.
add("int main(void) { return 0; }", "for (int i = 0; i < n; i++) {\n    sum += a[i];\n}",
    "def f(x):\n    return x ** 2\n", "if x == 1:\n\tprint('one')\nelse:\n\tpass",
    "const s = `hi ${name}`;", "<div class=\"a\">text</div>", "SELECT * FROM t WHERE id = 42;",
    "#include <stdio.h>", "std::vector<int> v{1, 2, 3};", "fn main() -> Result<(), Box<dyn Error>> {}",
    "x => x + 1", "a && b || !c", "i += 1; j -= 2; k *= 3;", "// comment\n/* block */",
    "{\"key\": [1, 2.5, true, null]}", "$ ls -la | grep foo > out.txt 2>&1",
    "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Users\\name\\file.txt",
    "    indented\n        more\n", "camelCaseName snake_case_name SCREAMING_CASE kebab-case",
    "__init__ __name__", "0xDEADBEEF", "a[0][1]", "x->y", "a::b", "@decorator", "#!/bin/sh",
    "print(\"héllo wörld\")", "λx.x", "αβγ = 1");

// Special-token look-alikes (Hugging Face always splits out added tokens).
add("<|im_start|>", "<|im_end|>", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>", "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>",
    "<s>", "</s>", "<s>Hello</s>", "<unk>", "<pad>", "<bos>", "<eos>", "<mask>", "[CLS]", "[SEP]",
    "[CLS] hello [SEP]", "[MASK]", "[UNK]", "[PAD]", "<0x41>", "<0x0A>", "<start_of_turn>user",
    "<end_of_turn>", "<think>\nreasoning\n</think>", "<tool_call>", "<|im_start", "im_start|>",
    "< |im_start| >", "<<s>>", "<s><s>", "text<s>text", "a <s> b", " <s> ", "<|fim_prefix|>",
    "<fim_prefix>", "<|start_story|>", "<|end_story|>", "<unused0>", "[unused1]", "##ing", "▁word",
    "▁▁", "Ġhello", "Ċ");

// Mixed text and longer lines.
add("The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "Hello World HELLO world",
    "It's a small test, isn't it? We'll see.", "Mixed: English, Русский, 中文, العربية, हिन्दी, 😀.",
    "Café 中文 niño Ελλάδα 日本 한국 🇯🇵", "unbelievable unaffordable antidisestablishmentarianism",
    "Pneumonoultramicroscopicsilicovolcanoconiosis", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ababababababababababababababababababab", "The year 1984 and the number 3.14 and 1,000.",
    "Once upon a time, there was a little girl named Lily.", "  Hello", "Hello  ", " Hello World ",
    "hello\nworld", "hello\n\nworld", "hello \nworld", "hello\n world", "hello!\n\n\n\nworld",
    "multi\n\n\n\n\nnewlines", "spaces    and\ttabs\t\tmixed", "ends with newline\n");

// Every ASCII printable character, and runs of each kind.
add(Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(""));
add("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ");
add("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ".normalize("NFD"));
add("ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĳĴĵĶķĸĹĺĻļĽľĿŀŁł");

// Normalization corner cases: singletons and composition exclusions (NFC
// changes them too), compatibility ideographs, Greek final sigma, dotted I,
// nukta forms, literal "▁" runs, very long runs, a word past WordPiece's
// 100-character limit.
add("\u0958 \u0915\u093C", "\uF900\uF901 \u{2F800}", "\u0344 \u0340\u0341", "ΟΔΟΣ ΣΊΣΥΦΟΣ σίσυφος",
    "İ i̇ I ı", "ﬃ ﬄ ſt", "\u212B\u212A", "ক়ষ ড় ড\u09BC", "\u0F73 \u0F75 \u0F81",
    "\u1100\u1161 \u3131\u314F", "\u00C5\u0327 A\u0327\u030A", "\u0041\u0328\u0301 \u01FA",
    "▁▁▁▁", "▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁", " ".repeat(40), "\n".repeat(12), "\t".repeat(9),
    "a".repeat(100), "b".repeat(101), "Supercalifragilisticexpialidocious".repeat(4), "9".repeat(64),
    "👍".repeat(12), "中".repeat(30), "é".normalize("NFD").repeat(20));

const unique = [...new Set(cases)];
for (const t of unique) {
  if (t.includes("\u0000")) throw new Error("a case holds U+0000");
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(t)) throw new Error(`lone surrogate in ${JSON.stringify(t)}`);
}
process.stdout.write("[\n" + unique.map((t) => " " + JSON.stringify(t)).join(",\n") + "\n]\n");
