/**
 * WP Social Bot: the block editor's "Social" panel (no build step: plain ES5 on the wp.* globals).
 *
 * The editor's choices are the post's meta (wp_social_bot_*), edited through core/editor and saved with the post;
 * "Where it went" comes from the plugin's own REST route (wp-social-bot/v1/status/<id>), never from the bot.
 * Strings come translated from PHP in window.wpSocialBot.
 */
( function ( wp, config ) {
	'use strict';

	if ( ! wp || ! wp.plugins || ! wp.editPost || ! wp.element || ! wp.components || ! wp.data || ! config ) {
		return;
	}

	var el = wp.element.createElement;
	var useState = wp.element.useState;
	var useEffect = wp.element.useEffect;
	var useRef = wp.element.useRef;
	var useSelect = wp.data.useSelect;
	var useDispatch = wp.data.useDispatch;
	var C = wp.components;
	var s = config.strings;
	var PANEL = 'wp-social-bot/wp-social-bot';
	var POLL_EVERY = 5000;
	var POLL_FOR = 120000;

	/** A toggle whose input has a fixed id (ToggleControl in WordPress 6.1 makes its own). */
	function Toggle( props ) {
		return el(
			C.BaseControl,
			{ id: props.id, help: props.help, className: 'components-toggle-control wp-social-bot-toggle' },
			el(
				'div',
				{ className: 'wp-social-bot-toggle-row' },
				el( C.FormToggle, {
					id: props.id,
					checked: !! props.checked,
					'aria-describedby': props.help ? props.id + '__help' : undefined,
					onChange: function ( event ) {
						props.onChange( !! event.target.checked );
					},
				} ),
				el( 'label', { htmlFor: props.id, className: 'components-toggle-control__label' }, props.label )
			)
		);
	}

	/** A textarea whose id is fixed (TextareaControl in WordPress 6.1 makes its own). */
	function Textarea( props ) {
		return el(
			C.BaseControl,
			{ id: props.id, label: props.label, help: props.help, className: 'wp-social-bot-textarea' },
			el( 'textarea', {
				id: props.id,
				className: 'components-textarea-control__input',
				rows: props.rows || 3,
				maxLength: config.maxText,
				value: props.value || '',
				'aria-describedby': props.help ? props.id + '__help' : undefined,
				onChange: function ( event ) {
					props.onChange( event.target.value );
				},
			} )
		);
	}

	/** One account's line in "Where it went". */
	function Account( props ) {
		var a = props.account;
		var platform = s.platforms[ a.platform ] || a.platform;
		var parts = [
			el( 'strong', { key: 'name', className: 'wp-social-bot-account' }, a.account ),
			' (' + platform + '): ',
			el( 'span', { key: 'state', className: 'wp-social-bot-state' }, s.states[ a.state ] || a.state ),
		];
		if ( a.reason ) {
			parts.push( el( 'span', { key: 'reason', className: 'wp-social-bot-reason' }, ' — ' + a.reason ) );
		}
		if ( a.url && /^https?:\/\//i.test( a.url ) ) {
			parts.push( ' ' );
			parts.push( el( 'a', { key: 'link', href: a.url, target: '_blank', rel: 'noopener noreferrer' }, s.view ) );
		}
		return el( 'li', { 'data-account': a.account, 'data-state': a.state, className: 'wp-social-bot-state-' + a.state }, parts );
	}

	/** "Where it went": fetched now, every 5 s while polling, and on Refresh. */
	function WhereItWent( props ) {
		var state = useState( { loading: false, error: '', data: null } );
		var view = state[ 0 ];
		var setView = state[ 1 ];
		var alive = useRef( true );
		var busy = useRef( false );
		var until = useRef( 0 );
		var tick = useState( 0 );

		function load() {
			if ( busy.current ) {
				return;
			}
			busy.current = true;
			setView( function ( old ) {
				return { loading: true, error: old.error, data: old.data };
			} );
			wp.apiFetch( { path: '/wp-social-bot/v1/status/' + props.postId } ).then(
				function ( data ) {
					busy.current = false;
					if ( alive.current ) {
						setView( { loading: false, error: '', data: data } );
					}
				},
				function ( error ) {
					busy.current = false;
					if ( alive.current ) {
						var message = error && error.message ? error.message : s.error;
						setView( function ( old ) {
							return { loading: false, error: message, data: old.data };
						} );
					}
				}
			);
		}

		function poll() {
			until.current = Date.now() + POLL_FOR;
			tick[ 1 ]( until.current );
			load();
		}

		useEffect( function () {
			alive.current = true;
			return function () {
				alive.current = false;
			};
		}, [] );

		// Shown: fetched once. Each completed save of the published post (publishing included): two minutes of polling.
		useEffect( function () {
			if ( props.savedAt ) {
				poll();
			} else {
				load();
			}
		}, [ props.savedAt ] );

		useEffect(
			function () {
				var timer = window.setInterval( function () {
					if ( Date.now() > until.current ) {
						window.clearInterval( timer );
						return;
					}
					load();
				}, POLL_EVERY );
				return function () {
					window.clearInterval( timer );
				};
			},
			[ tick[ 0 ] ]
		);

		var data = view.data;
		var accounts = data && data.accounts ? data.accounts : [];
		var children = [];
		if ( view.error ) {
			children.push( el( C.Notice, { key: 'error', status: 'error', isDismissible: false, className: 'wp-social-bot-error' }, view.error ) );
		}
		if ( data && ! data.found ) {
			children.push( el( 'p', { key: 'none', className: 'wp-social-bot-message' }, s.notFound ) );
		} else if ( data && ! accounts.length ) {
			children.push( el( 'p', { key: 'none', className: 'wp-social-bot-message' }, s.noAccounts ) );
		}
		children.push(
			el(
				'ul',
				{ key: 'list', id: 'wp-social-bot-status', className: 'wp-social-bot-status' },
				accounts.map( function ( account, i ) {
					return el( Account, { key: account.account + ':' + i, account: account } );
				} )
			)
		);
		children.push(
			el(
				'div',
				{ key: 'actions', className: 'wp-social-bot-actions' },
				el( C.Button, { variant: 'secondary', className: 'wp-social-bot-refresh', onClick: poll, disabled: view.loading }, s.refresh ),
				view.loading ? el( C.Spinner, null ) : null
			)
		);
		return el( 'div', { className: 'wp-social-bot-where' }, el( 'h3', null, s.whereItWent ), children );
	}

	/** The panel. */
	function SocialPanel() {
		var post = useSelect( function ( select ) {
			var editor = select( 'core/editor' );
			return {
				type: editor.getCurrentPostType(),
				id: editor.getCurrentPostId(),
				meta: editor.getEditedPostAttribute( 'meta' ) || {},
				published: 'publish' === editor.getCurrentPostAttribute( 'status' ),
				saving: editor.isSavingPost() && ! editor.isAutosavingPost(),
				opened: select( 'core/edit-post' ).isEditorPanelOpened( PANEL ),
			};
		}, [] );
		var editPost = useDispatch( 'core/editor' ).editPost;
		var togglePanel = useDispatch( 'core/edit-post' ).toggleEditorPanelOpened;
		var savedAt = useState( 0 );
		var wasSaving = useRef( false );

		useEffect(
			function () {
				if ( wasSaving.current && ! post.saving ) {
					savedAt[ 1 ]( Date.now() );
				}
				wasSaving.current = post.saving;
			},
			[ post.saving ]
		);

		// Open the panel the first time this browser sees it; after that the editor's own choice stands.
		useEffect( function () {
			try {
				if ( ! window.localStorage.getItem( 'wp-social-bot-panel-seen' ) ) {
					window.localStorage.setItem( 'wp-social-bot-panel-seen', '1' );
					if ( ! post.opened ) {
						togglePanel( PANEL );
					}
				}
			} catch ( e ) {
				// No storage: leave the panel as the editor has it.
			}
		}, [] );

		if ( config.postTypes.indexOf( post.type ) === -1 ) {
			return null;
		}

		function setMeta( key, value ) {
			var change = {};
			change[ key ] = value;
			editPost( { meta: change } );
		}

		var meta = post.meta;
		var networks = Object.keys( s.platforms ).map( function ( platform ) {
			var key = 'wp_social_bot_text_' + platform;
			return el( Textarea, {
				key: platform,
				id: 'wp-social-bot-text-' + platform,
				label: s.platforms[ platform ],
				value: meta[ key ],
				rows: 2,
				onChange: function ( value ) {
					setMeta( key, value );
				},
			} );
		} );
		networks.push( el( 'p', { key: 'help', className: 'description' }, s.networkHelp ) );

		return el(
			wp.editPost.PluginDocumentSettingPanel,
			{ name: 'wp-social-bot', title: s.title, className: 'wp-social-bot-panel' },
			el( Toggle, {
				id: 'wp-social-bot-share',
				label: s.share,
				help: s.shareHelp,
				checked: meta.wp_social_bot_share,
				onChange: function ( value ) {
					setMeta( 'wp_social_bot_share', value );
				},
			} ),
			el( Textarea, {
				id: 'wp-social-bot-text',
				label: s.text,
				help: s.textHelp,
				value: meta.wp_social_bot_text,
				onChange: function ( value ) {
					setMeta( 'wp_social_bot_text', value );
				},
			} ),
			el( Toggle, {
				id: 'wp-social-bot-breaking',
				label: s.breaking,
				help: s.breakingHelp,
				checked: meta.wp_social_bot_breaking,
				onChange: function ( value ) {
					setMeta( 'wp_social_bot_breaking', value );
				},
			} ),
			el( 'details', { className: 'wp-social-bot-networks' }, el( 'summary', null, s.perNetwork ), networks ),
			post.published && post.id
				? el( WhereItWent, { postId: post.id, savedAt: savedAt[ 0 ] } )
				: el( 'p', { className: 'description wp-social-bot-after-publish' }, s.afterPublish )
		);
	}

	wp.plugins.registerPlugin( 'wp-social-bot', { render: SocialPanel, icon: 'share' } );
} )( window.wp, window.wpSocialBot );
