/*
 * test_messages_surface.c - unit tests for the request side of the
 * Anthropic Messages surface (adapters/anthropic_surface.c,
 * anthropic_surface_msgs.c): a Messages request into the canonical
 * request, every mapping, and refusals that name Anthropic's parameter
 * paths, and what only Anthropic serves (its client tools, search_result
 * blocks) marking the request native-only, which the capability check
 * (core/api/caps.c) then holds to Anthropic deployments. Replies, streams
 * and error bodies: test_messages_reply.c.
 * SPDX-License-Identifier: MIT
 */
#include "messages_fixture.h"
#include "api/adapter.h"
#include "api/caps.h"

static enum sy_err
parse_raw(const char *body, unsigned depth)
{
    struct sy_req r = { .arena = &arena,
                        .body = body,
                        .body_len = strlen(body),
                        .anthropic_version = "2023-06-01",
                        .anthropic_beta = "b1" };
    memset(&perr, 0, sizeof(perr));
    return sy_surface_messages.parse(&r, depth, &arena, &req, &perr);
}

static enum sy_err
parse(const char *body)
{
    return parse_raw(J(body), 64);
}

static const char *
str_at(const char *path)
{
    struct json_object *v = at(req.root, path);
    return v && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static size_t
len_at(const char *path)
{
    struct json_object *v = at(req.root, path);
    return v && json_object_is_type(v, json_type_array)
               ? json_object_array_length(v)
               : 99;
}

static const char *
text_at(const char *path)
{
    return json_object_to_json_string_ext(at(req.root, path),
                                          JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
}

#define BASE "'model':'claude-x','max_tokens':100"

/* The refusal of 'body': SY_EBADREQ, err->param 'param', and a message
 * that starts with it. */
static void
refused(const char *body, const char *param, const char *words)
{
    if (parse(body) != SY_EBADREQ)
        fail_msg("not refused: %s", body);
    assert_non_null(perr.param);
    assert_string_equal(perr.param, param);
    assert_int_equal(strncmp(perr.message, param, strlen(param)), 0);
    if (words != NULL && strstr(perr.message, words) == NULL)
        fail_msg("'%s' does not say '%s'", perr.message, words);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static void
test_basic(void **state)
{
    (void)state;
    assert_int_equal(parse("{" BASE ",'system':'Be terse.','messages':["
                           "{'role':'user','content':'hi'}],"
                           "'unknown_field':{'x':1}}"),
                     SY_OK);
    assert_string_equal(req.model, "claude-x");
    assert_int_equal(req.max_tokens, 100);
    assert_int_equal(req.nmessages, 2);
    assert_string_equal(str_at("messages.0.role"), "system");
    assert_string_equal(str_at("messages.0.content"), "Be terse.");
    assert_string_equal(str_at("messages.1.role"), "user");
    assert_string_equal(str_at("messages.1.content"), "hi");
    assert_null(at(req.root, "unknown_field"));
    assert_false(req.stream);
    /* The caller's own tree, version and betas for a native adapter. */
    assert_string_equal(req.native.dialect, "anthropic");
    assert_non_null(at(req.native.root, "unknown_field"));
    assert_string_equal(req.native.version, "2023-06-01");
    assert_string_equal(req.native.beta, "b1");
    assert_string_equal(sy_surface_messages.name, "messages");
    assert_string_equal(sy_surface_messages.dialect, "anthropic");
}

static void
test_system_blocks_and_params(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'system':[{'type':'text','text':'A'},{'type':"
              "'text','text':'B','cache_control':{'type':'ephemeral'}}],"
              "'messages':[{'role':'user','content':'q'}],"
              "'stop_sequences':['x','y'],'temperature':0.5,'top_p':0.9,"
              "'top_k':40,'metadata':{'user_id':'u-1'},'stream':true}"),
        SY_OK);
    assert_string_equal(str_at("messages.0.content"), "A\n\nB");
    assert_string_equal(text_at("stop"), J("['x','y']"));
    assert_string_equal(text_at("temperature"), "0.5");
    assert_string_equal(text_at("top_p"), "0.9");
    assert_string_equal(text_at("top_k"), "40");
    assert_string_equal(str_at("user"), "u-1");
    assert_true(req.stream);
    assert_true(req.include_usage);
    assert_string_equal(text_at("stream_options"), J("{'include_usage':true}"));
}

static void
test_user_blocks(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':["
              "{'type':'text','text':'look'},"
              "{'type':'image','source':{'type':'base64','media_type':"
              "'image/png','data':'iVBO'}},"
              "{'type':'image','source':{'type':'url','url':'https://x/i."
              "png'}},"
              "{'type':'document','source':{'type':'base64','media_type':"
              "'application/pdf','data':'JVBE'}},"
              "{'type':'document','source':{'type':'text','media_type':"
              "'text/plain','data':'plain doc'}}]}]}"),
        SY_OK);
    assert_int_equal(len_at("messages.0.content"), 5);
    assert_string_equal(text_at("messages.0.content.0"),
                        J("{'type':'text','text':'look'}"));
    assert_string_equal(
        text_at("messages.0.content.1"),
        J("{'type':'image_url','image_url':{'url':'data:image/png;base64,"
          "iVBO'}}"));
    assert_string_equal(str_at("messages.0.content.2.image_url.url"),
                        "https://x/i.png");
    assert_string_equal(
        text_at("messages.0.content.3"),
        J("{'type':'file','file':{'filename':'document.pdf','file_data':"
          "'data:application/pdf;base64,JVBE'}}"));
    assert_string_equal(text_at("messages.0.content.4"),
                        J("{'type':'text','text':'plain doc'}"));
}

static void
test_assistant_blocks(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'w'},"
              "{'role':'assistant','content':["
              "{'type':'thinking','thinking':'hmm','signature':'sig'},"
              "{'type':'redacted_thinking','data':'xx'},"
              "{'type':'text','text':'Let me check.'},"
              "{'type':'tool_use','id':'toolu_1','name':'get','input':"
              "{'city':'Oslo','n':[1, 2]}},"
              "{'type':'tool_use','id':'toolu_2','name':'now','input':{}}]},"
              "{'role':'assistant','content':[{'type':'tool_use','id':'t3',"
              "'name':'x','input':{}}]}]}"),
        SY_OK);
    assert_string_equal(str_at("messages.1.role"), "assistant");
    assert_string_equal(str_at("messages.1.content"), "Let me check.");
    assert_string_equal(str_at("messages.1.reasoning_content"), "hmm");
    assert_string_equal(
        text_at("messages.1.tool_calls"),
        J("[{'id':'toolu_1','type':'function','function':{'name':'get',"
          "'arguments':'{\\'city\\':\\'Oslo\\',\\'n\\':[1,2]}'}},"
          "{'id':'toolu_2','type':'function','function':{'name':'now',"
          "'arguments':'{}'}}]"));
    /* Only tool calls: the content is null. */
    assert_string_equal(text_at("messages.2.content"), "null");
    assert_int_equal(len_at("messages.2.tool_calls"), 1);
}

static void
test_tool_results(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':["
              "{'type':'text','text':'and then?'},"
              "{'type':'tool_result','tool_use_id':'toolu_1','content':"
              "'4 C'},"
              "{'type':'tool_result','tool_use_id':'toolu_2','is_error':"
              "true,'content':[{'type':'text','text':'a'},{'type':'text',"
              "'text':'b'},{'type':'image','source':{'type':'url','url':"
              "'https://x/y.png'}}]},"
              "{'type':'tool_result','tool_use_id':'toolu_3'}]}]}"),
        SY_OK);
    /* The tool messages come before the rest of their user turn. */
    assert_int_equal(len_at("messages"), 4);
    assert_string_equal(
        text_at("messages.0"),
        J("{'role':'tool','tool_call_id':'toolu_1','content':'4 C'}"));
    assert_string_equal(str_at("messages.1.content"), "Error: a\nb");
    assert_string_equal(str_at("messages.2.content"), "");
    assert_string_equal(str_at("messages.3.role"), "user");
    assert_int_equal(len_at("messages.3.content"), 2);
    assert_string_equal(str_at("messages.3.content.0.text"), "and then?");
    assert_string_equal(str_at("messages.3.content.1.image_url.url"),
                        "https://x/y.png");
    /* A turn of tool results only has no user message. */
    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "[{'type':'tool_result','tool_use_id':'a',"
                           "'content':'r'}]}]}"),
                     SY_OK);
    assert_int_equal(len_at("messages"), 1);
}

/* "\u0000" is valid JSON: text holding it reaches the provider whole,
 * not cut at the NUL (the provider must see what the caller sent). */
static void
test_nul_in_text(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'system':[{'type':'text','text':'SYS\\u0000HIDDEN'},"
              "{'type':'text','text':'S2'}],'messages':["
              "{'role':'user','content':["
              "{'type':'tool_result','tool_use_id':'t1','content':"
              "'R1\\u0000X'},"
              "{'type':'tool_result','tool_use_id':'t2','content':["
              "{'type':'text','text':'R2\\u0000Y'}]},"
              "{'type':'text','text':'U\\u0000V'},"
              "{'type':'document','source':{'type':'text','media_type':"
              "'text/plain','data':'D\\u0000E'}}]},"
              "{'role':'assistant','content':["
              "{'type':'thinking','thinking':'T\\u0000H','signature':'s'},"
              "{'type':'text','text':'A\\u0000B'}]}]}"),
        SY_OK);
    assert_string_equal(text_at("messages.0.content"),
                        J("'SYS\\u0000HIDDEN\\n\\nS2'"));
    assert_string_equal(text_at("messages.1.content"), J("'R1\\u0000X'"));
    assert_string_equal(text_at("messages.2.content"), J("'R2\\u0000Y'"));
    assert_string_equal(text_at("messages.3.content.0.text"), J("'U\\u0000V'"));
    assert_string_equal(text_at("messages.3.content.1.text"), J("'D\\u0000E'"));
    assert_string_equal(text_at("messages.4.content"), J("'A\\u0000B'"));
    assert_string_equal(text_at("messages.4.reasoning_content"),
                        J("'T\\u0000H'"));
}

static void
test_tools_and_choice(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'w'}],"
              "'tools':[{'name':'get','description':'Weather','input_schema':"
              "{'type':'object','properties':{'city':{'type':'string'}}}},"
              "{'type':'custom','name':'now','input_schema':{'type':'object'"
              "},'strict':true}],"
              "'tool_choice':{'type':'any','disable_parallel_tool_use':true}}"),
        SY_OK);
    assert_string_equal(
        text_at("tools.0"),
        J("{'type':'function','function':{'name':'get','description':"
          "'Weather','parameters':{'type':'object','properties':{'city':"
          "{'type':'string'}}}}}"));
    assert_string_equal(text_at("tools.1.function.strict"), "true");
    assert_int_equal(req.ntool_schemas, 2);
    assert_string_equal(str_at("tool_choice"), "required");
    assert_string_equal(text_at("parallel_tool_calls"), "false");

    static const char *const choices[][2] = {
        { "{'type':'auto'}", "'auto'" },
        { "{'type':'none'}", "'none'" },
        { "{'type':'tool','name':'get'}",
          "{'type':'function','function':{'name':'get'}}" },
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(choices); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{" BASE ",'messages':[{'role':'user','content':'w'}],"
                 "'tools':[{'name':'get','input_schema':{'type':'object'}}],"
                 "'tool_choice':%s}",
                 choices[i][0]);
        assert_int_equal(parse(body), SY_OK);
        assert_string_equal(text_at("tool_choice"), J(choices[i][1]));
        assert_null(at(req.root, "parallel_tool_calls"));
    }
}

static void
test_thinking_and_output(void **state)
{
    (void)state;
    static const struct {
        int budget;
        const char *effort;
    } levels[] = { { 1024, "low" },     { 4095, "low" },   { 4096, "medium" },
                   { 16383, "medium" }, { 16384, "high" }, { 64000, "high" } };
    for (size_t i = 0; i < SY_ARRAY_LEN(levels); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{" BASE ",'messages':[{'role':'user','content':'w'}],"
                 "'thinking':{'type':'enabled','budget_tokens':%d}}",
                 levels[i].budget);
        assert_int_equal(parse(body), SY_OK);
        assert_string_equal(str_at("reasoning_effort"), levels[i].effort);
    }
    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "'w'}],'thinking':{'type':'disabled'}}"),
                     SY_OK);
    assert_null(at(req.root, "reasoning_effort"));

    const char *rf = "{'type':'json_schema','json_schema':{'name':'output',"
                     "'schema':{'type':'object','properties':{'a':{'type':"
                     "'integer'}}},'strict':true}}";
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'w'}],"
              "'output_config':{'format':{'type':'json_schema','schema':"
              "{'type':'object','properties':{'a':{'type':'integer'}}}}}}"),
        SY_OK);
    assert_string_equal(text_at("response_format"), J(rf));
    assert_int_equal(req.response_format, SY_FORMAT_JSON_SCHEMA);
    assert_non_null(req.response_compiled);
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'w'}],"
              "'output_format':{'type':'json_schema','schema':"
              "{'type':'object','properties':{'a':{'type':'integer'}}}}}"),
        SY_OK);
    assert_string_equal(text_at("response_format"), J(rf));
}

static void
test_refusals(void **state)
{
    (void)state;
#define R refused
#define M "'messages':[{'role':'user','content':'w'}]"
    R("{'model':'m','messages':[{'role':'user','content':'w'}]}", "max_tokens",
      "Field required");
    R("{'model':'m','max_tokens':0,'messages':[]}", "max_tokens",
      "greater than or equal to 1");
    R("{'model':'m','max_tokens':-5,'messages':[]}", "max_tokens",
      "greater than or equal to 1");
    R("{'model':'m','max_tokens':1000000000000,'messages':[]}", "max_tokens",
      "less than or equal to");
    R("{'model':'m','max_tokens':99999999999999999999999,'messages':[]}",
      "max_tokens", "less than or equal to");
    R("{'model':'m','max_tokens':1.5,'messages':[]}", "max_tokens",
      "valid integer");
    R("{'max_tokens':5,'messages':[]}", "model", "Field required");
    R("{'model':7,'max_tokens':5,'messages':[]}", "model", "valid string");
    R("{" BASE ",'messages':[]}", "messages", "at least 1 item");
    R("{" BASE ",'messages':{}}", "messages", "valid list");
    R("{" BASE ",'messages':[{'role':'tool','content':'x'}]}",
      "messages.0.role", "'user', 'assistant'");
    R("{" BASE ",'messages':[{'content':'x'}]}", "messages.0.role",
      "Field required");
    R("{" BASE ",'messages':[{'role':'user'}]}", "messages.0.content",
      "Field required");
    R("{" BASE ",'messages':[{'role':'user','content':5}]}",
      "messages.0.content", "string or list");
    R("{" BASE ",'messages':[{'role':'user','content':'a'},{'role':'user',"
      "'content':[{'type':'text','text':'a'},{'type':'video'}]}]}",
      "messages.1.content.1.type", "Input tag 'video'");
    R("{" BASE ",'messages':[{'role':'user','content':[{'text':'a'}]}]}",
      "messages.0.content.0.type", "Field required");
    R("{" BASE ",'messages':[{'role':'user','content':[{'type':'tool_use',"
      "'id':'a','name':'b','input':{}}]}]}",
      "messages.0.content.0.type", "expected tags");
    R("{" BASE ",'messages':[{'role':'assistant','content':[{'type':"
      "'server_tool_use','id':'a','name':'web_search','input':{}}]}]}",
      "messages.0.content.0.type", "server tool");
    R("{" BASE ",'messages':[{'role':'user','content':[{'type':'image',"
      "'source':{'type':'base64','media_type':'image/tiff','data':'x'}}]}]}",
      "messages.0.content.0.source.media_type", "image/jpeg");
    R("{" BASE ",'messages':[{'role':'user','content':[{'type':'image',"
      "'source':{'type':'file','file_id':'f'}}]}]}",
      "messages.0.content.0.source.type", "not supported");
    R("{" BASE ",'messages':[{'role':'user','content':[{'type':"
      "'tool_result','content':'x'}]}]}",
      "messages.0.content.0.tool_use_id", "Field required");
    R("{" BASE ",'messages':[{'role':'assistant','content':[{'type':"
      "'tool_use','id':'a','name':'b','input':[1]}]}]}",
      "messages.0.content.0.input", "valid dictionary");
    R("{" BASE "," M ",'tools':[{'name':'a','input_schema':{}},{'type':"
      "'web_search_20250305','name':'web_search'}]}",
      "tools.1.type",
      "tool type 'web_search_20250305' is a server tool this gateway does "
      "not offer");
    R("{" BASE "," M ",'tools':[{'name':'a'}]}", "tools.0.input_schema",
      "Field required");
    R("{" BASE "," M ",'tool_choice':{'type':'some'}}", "tool_choice.type",
      "Input tag 'some'");
    R("{" BASE "," M ",'temperature':1.5}", "temperature",
      "less than or equal to 1");
    R("{" BASE "," M ",'stop_sequences':['a',3]}", "stop_sequences.1",
      "valid string");
    R("{" BASE "," M ",'stream':'yes'}", "stream", "valid boolean");
    R("{" BASE "," M ",'thinking':{'type':'enabled','budget_tokens':100}}",
      "thinking.budget_tokens", "1024");
    R("{" BASE "," M ",'output_format':{'type':'json_object'}}",
      "output_format.type", "Input tag 'json_object'");
    /* The canonical checks' refusals are renamed for the caller. */
    R("{" BASE "," M ",'tools':[{'name':'a','input_schema':{'type':"
      "'object','unevaluatedProperties':false}}]}",
      "tools.0.input_schema", "input_schema: cannot be enforced");
    R("{" BASE "," M ",'output_config':{'format':{'type':'json_schema',"
      "'schema':{'unevaluatedProperties':false}}}}",
      "output_config.format.schema", "unsupported keyword");
#undef R
#undef M
}

/* ------------------------------------------------------------------ */
/* Native-only requests                                                */

/* Anthropic's client tools are taken, passed in the caller's tree as
 * they came, named in the canonical tree (a forced tool_choice finds
 * them), and mark the request native-only; toolsets, server tools and
 * malformed versions are still refused. */
static void
test_client_tools(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'w'}],"
              "'tools':[{'name':'get','input_schema':{'type':'object'}},"
              "{'type':'text_editor_20250728','name':"
              "'str_replace_based_edit_tool','max_characters':1000}],"
              "'tool_choice':{'type':'tool','name':"
              "'str_replace_based_edit_tool'}}"),
        SY_OK);
    assert_string_equal(text_at("tools.1"),
                        J("{'type':'function','function':{'name':"
                          "'str_replace_based_edit_tool'}}"));
    assert_string_equal(text_at("tool_choice.function.name"),
                        "\"str_replace_based_edit_tool\"");
    assert_string_equal(
        json_object_to_json_string_ext(at(req.native.root, "tools.1"),
                                       JSON_C_TO_STRING_PLAIN),
        J("{'type':'text_editor_20250728','name':"
          "'str_replace_based_edit_tool','max_characters':1000}"));
    assert_non_null(req.native.required);
    assert_string_equal(req.native.required,
                        "tools.1: the client tool 'text_editor_20250728'");

    static const char *const ok[] = {
        "{'type':'bash_20250124','name':'bash'}",
        "{'type':'text_editor_20250124','name':'str_replace_editor'}",
        "{'type':'text_editor_20250429','name':"
        "'str_replace_based_edit_tool'}",
        "{'type':'computer_20250124','name':'computer',"
        "'display_width_px':1024,'display_height_px':768}",
        "{'type':'memory_20250818','name':'memory','cache_control':"
        "{'type':'ephemeral'}}",
    };
    for (size_t i = 0; i < SY_ARRAY_LEN(ok); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{" BASE ",'messages':[{'role':'user','content':'w'}],"
                 "'tools':[%s]}",
                 ok[i]);
        if (parse(body) != SY_OK)
            fail_msg("%s refused: %s", ok[i], perr.message);
        assert_non_null(req.native.required);
        assert_non_null(strstr(req.native.required, "tools.0: the client "));
    }
    /* Custom tools alone: any deployment. */
    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "'w'}],'tools':[{'name':'get','input_schema':{}}]}"),
                     SY_OK);
    assert_null(req.native.required);

#define M "'messages':[{'role':'user','content':'w'}]"
    refused("{" BASE "," M ",'tools':[{'type':'bash_2025012','name':'bash'}]}",
            "tools.0.type", "server tool");
    refused("{" BASE "," M ",'tools':[{'type':'bash_20250124x','name':"
            "'bash'}]}",
            "tools.0.type", "server tool");
    refused("{" BASE "," M ",'tools':[{'type':'computer_toolset_20260801'}]}",
            "tools.0.type", "server tool");
    refused("{" BASE "," M ",'tools':[{'type':'code_execution_20250825',"
            "'name':'code_execution'}]}",
            "tools.0.type", "server tool");
    refused("{" BASE "," M ",'tools':[{'type':'text_editor_20250728'}]}",
            "tools.0.name", "Field required");
    refused("{" BASE "," M ",'tools':[{'type':'bash_20250124','name':''}]}",
            "tools.0.name", "at least 1 character");
#undef M
}

/* search_result blocks, in a user turn and in a tool result: checked,
 * their texts in the canonical tree, the request native-only. */
static void
test_search_result(void **state)
{
    (void)state;
#define SR                                                           \
    "{'type':'search_result','source':'https://x.test/a','title':"   \
    "'A','content':[{'type':'text','text':'found it'}],'citations':" \
    "{'enabled':true}}"
    assert_int_equal(parse("{" BASE
                           ",'messages':[{'role':'user','content':[{'type':"
                           "'text','text':'q'}," SR "]}]}"),
                     SY_OK);
    assert_string_equal(str_at("messages.0.content.1.text"), "found it");
    assert_string_equal(req.native.required,
                        "messages.0.content.1: a 'search_result' block");
    assert_int_equal(
        parse("{" BASE ",'messages':[{'role':'user','content':'q'},{'role':"
              "'assistant','content':[{'type':'tool_use','id':'t1','name':"
              "'find','input':{}}]},{'role':'user','content':[{'type':"
              "'tool_result','tool_use_id':'t1','content':[" SR "]}]}]}"),
        SY_OK);
    assert_string_equal(req.native.required,
                        "messages.2.content.0.content.0: a 'search_result' "
                        "block");
    refused("{" BASE ",'messages':[{'role':'user','content':[{'type':"
            "'search_result','source':'s','content':[]}]}]}",
            "messages.0.content.0.title", "Field required");
    refused("{" BASE ",'messages':[{'role':'user','content':[{'type':"
            "'search_result','source':'s','title':'t','content':[{'type':"
            "'image','source':{'type':'url','url':'u'}}]}]}]}",
            "messages.0.content.0.content.0.type", "Input tag 'image'");
#undef SR
}

/* The need reaches the capability check: an Anthropic deployment serves
 * a native-only request, an OpenAI one (or one of no known dialect) is
 * excluded with a reason naming the tool and the deployment type it
 * needs; a request without the need is served by both. */
static void
test_native_only_caps(void **state)
{
    (void)state;
    unsigned bits = SY_CAP_TOOLS | SY_CAP_STREAM | SY_CAP_VISION;
    struct sy_caps ant, oai, none;
    sy_caps_defaults("anthropic", "claude-x", bits, &ant);
    sy_caps_defaults("openai", "gpt-4o", bits, &oai);
    none = oai;
    none.dialect = NULL;
    struct sy_needs n;
    char why[160];
    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "'w'}],'tools':[{'type':'bash_20250124','name':"
                           "'bash'}]}"),
                     SY_OK);
    sy_chat_req_needs(&req, &n);
    assert_string_equal(n.native_dialect, "anthropic");
    assert_true(n.tools);
    assert_null(sy_caps_check(&ant, &n, why, sizeof(why)));
    const char *w = sy_caps_check(&oai, &n, why, sizeof(why));
    assert_non_null(w);
    assert_string_equal(w, "tools.0: the client tool 'bash_20250124' needs a "
                           "deployment of type 'anthropic'");
    assert_non_null(sy_caps_check(&none, &n, why, sizeof(why)));
    /* the tool's unseen prompt tokens count in estimates and worst cases */
    assert_true(n.hidden_tokens >= 1000);
    assert_true(n.input_tokens > n.hidden_tokens);
    uint64_t one = sy_caps_input_worst(&ant, &n, 200);
    assert_true(one >= 200 + n.hidden_tokens);
    /* ... but not against the context window: it is a bound for money,
     * far above what the tools take */
    struct sy_caps small = ant;
    small.context_window = n.input_tokens - n.hidden_tokens + n.max_tokens + 16;
    assert_null(sy_caps_check(&small, &n, why, sizeof(why)));
    small.context_window = n.input_tokens - n.hidden_tokens + n.max_tokens - 1;
    assert_non_null(sy_caps_check(&small, &n, why, sizeof(why)));

    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "'w'}],'tools':[{'type':'bash_20250124','name':"
                           "'bash'},{'type':'text_editor_20250728','name':"
                           "'str_replace_based_edit_tool'}]}"),
                     SY_OK);
    uint64_t hidden1 = n.hidden_tokens;
    sy_chat_req_needs(&req, &n);
    assert_int_equal(n.hidden_tokens, 2 * hidden1);
    assert_true(sy_caps_input_worst(&ant, &n, 200) > one);

    assert_int_equal(parse("{" BASE ",'messages':[{'role':'user','content':"
                           "'w'}]}"),
                     SY_OK);
    sy_chat_req_needs(&req, &n);
    assert_null(n.native_dialect);
    assert_int_equal(n.hidden_tokens, 0);
    assert_null(sy_caps_check(&oai, &n, why, sizeof(why)));
    assert_null(sy_caps_check(&ant, &n, why, sizeof(why)));
}

static void
test_reject_depth(void **state)
{
    (void)state;
    char body[1024];
    size_t n = (size_t)snprintf(body, sizeof(body),
                                "{" BASE ",'messages':[{'role':'user',"
                                "'content':'w'}],'metadata':");
    for (int i = 0; i < 100; i++)
        body[n++] = '[';
    for (int i = 0; i < 100; i++)
        body[n++] = ']';
    body[n++] = '}';
    body[n] = '\0';
    assert_int_equal(parse_raw(J(body), 64), SY_EBADREQ);
    assert_non_null(strstr(perr.message, "deeper than 64"));
    assert_int_equal(parse_raw("", 64), SY_EBADREQ);
    assert_int_equal(parse_raw("[1]", 64), SY_EBADREQ);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_basic),
        T(test_system_blocks_and_params),
        T(test_user_blocks),
        T(test_assistant_blocks),
        T(test_tool_results),
        T(test_nul_in_text),
        T(test_tools_and_choice),
        T(test_thinking_and_output),
        T(test_refusals),
        T(test_reject_depth),
        T(test_client_tools),
        T(test_search_result),
        T(test_native_only_caps),
#undef T
    };
    return cmocka_run_group_tests_name("messages_surface", tests, NULL, NULL);
}
